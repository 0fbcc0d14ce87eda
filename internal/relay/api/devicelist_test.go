package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// A whole inventory reads in one request, and view=summary gives each device's table
// columns only: the same devices, fewer bytes, each answer as api/openapi.yaml declares.
func TestDeviceListWholeAndSummary(t *testing.T) {
	r, tok, org := adminSetup(t)
	const n = 1200 // more than other lists' largest page
	for i := range n {
		d := store.Device{Org: org, Serial: fmt.Sprintf("ACCC8E%06X", i), Model: "P3265-V", Name: fmt.Sprintf("cam %d", i)}
		if _, err := r.Store.RegisterDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	rt := api.Route{Method: http.MethodGet, Pattern: "/api/v1/orgs/{org}/devices"}
	base := "/api/v1/orgs/" + org + "/devices"
	type page struct {
		Items      []map[string]any
		NextCursor string
	}
	var full, summary page
	fullRes := r.Do(t, "GET", base+"?limit=10000", tok, nil)
	fullRes.JSON(t, &full)
	checkAnswer(t, rt, fullRes)
	sumRes := r.Do(t, "GET", base+"?limit=10000&view=summary", tok, nil)
	sumRes.JSON(t, &summary)
	checkAnswer(t, rt, sumRes)
	if len(full.Items) != n || full.NextCursor != "" || len(summary.Items) != n || summary.NextCursor != "" {
		t.Fatalf("one request of 10,000: %d devices (next %q), summary %d (next %q), want %d and no next page",
			len(full.Items), full.NextCursor, len(summary.Items), summary.NextCursor, n)
	}
	for i, s := range summary.Items {
		f := full.Items[i]
		for _, k := range []string{"serial", "name", "model", "status", "integration", "connected", "mode"} {
			if fmt.Sprint(s[k]) != fmt.Sprint(f[k]) {
				t.Fatalf("device %d: summary %s = %v, full view %v", i, k, s[k], f[k])
			}
		}
		if _, ok := s["createdAt"]; ok {
			t.Fatalf("device %d: the summary has the full view's createdAt: %v", i, s)
		}
	}
	if len(sumRes.Body)*2 > len(fullRes.Body) {
		t.Errorf("summary %d bytes, full view %d: want less than half", len(sumRes.Body), len(fullRes.Body))
	}
	// Filters and the cursor work the same in both views.
	var first page
	r.Do(t, "GET", base+"?limit=1000&view=summary&model=p3265-v", tok, nil).JSON(t, &first)
	if len(first.Items) != 1000 || first.NextCursor == "" {
		t.Fatalf("first page of 1,000: %d devices, next %q", len(first.Items), first.NextCursor)
	}
	var rest page
	r.Do(t, "GET", base+"?limit=1000&view=summary&cursor="+first.NextCursor, tok, nil).JSON(t, &rest)
	if len(rest.Items) != n-1000 || rest.Items[0]["serial"] != fmt.Sprintf("ACCC8E%06X", 1000) {
		t.Fatalf("second page: %d devices, first %v", len(rest.Items), rest.Items[0]["serial"])
	}
	for _, q := range []string{"limit=10001", "view=compact"} {
		checkProblem(t, r.Do(t, "GET", base+"?"+q, tok, nil), http.StatusBadRequest)
	}
}
