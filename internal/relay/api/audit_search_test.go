package api_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// Creating and cancelling a job are in the audit log, found by searching for the job's
// ID, page after page with the cursor; the job list pages with its cursor too.
func TestJobChangesAreFoundInTheAuditLog(t *testing.T) {
	r, tok, org := adminSetup(t)
	var h struct{ ID string }
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "site-1"}).JSON(t, &h)
	const serial = "ACCC8E040001"
	if _, err := r.Store.OnboardDevice(t.Context(), org, h.ID, serial, "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: serial, Model: "P3265-V", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	// Jobs wait for a window that is not open now, so that one can still be cancelled.
	now := time.Now().UTC()
	window := map[string]string{"start": now.Add(3 * time.Hour).Format("15:04"), "end": now.Add(4 * time.Hour).Format("15:04")}
	var ids []string
	for range 3 {
		var j struct{ ID string }
		res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/jobs", tok, map[string]any{"kind": "overlay", "params": map[string]string{"text": "hello"},
			"devices": []string{serial}, "policy": map[string]any{"window": window}})
		if res.Status != 201 {
			t.Fatalf("create job: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &j)
		ids = append(ids, j.ID)
	}
	if res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/jobs/"+ids[0]+"/cancel", tok, nil); res.Status != 202 {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}

	type page[T any] struct {
		Items      []T
		NextCursor string
	}
	type entry struct{ Action, Detail, Principal string }
	search := func(q url.Values) []entry {
		var all []entry
		for range 20 {
			var p page[entry]
			if res := r.Do(t, "GET", "/api/v1/orgs/"+org+"/audit?"+q.Encode(), tok, nil); res.Status != 200 {
				t.Fatalf("audit: %d %s", res.Status, res.Body)
			} else {
				res.JSON(t, &p)
			}
			all = append(all, p.Items...)
			if p.NextCursor == "" {
				return all
			}
			q.Set("cursor", p.NextCursor)
		}
		t.Fatal("the cursor never ends")
		return nil
	}
	var found []entry
	testtool.WaitFor(t, 10*time.Second, "the job's creation and cancellation in the audit log", func() bool {
		found = search(url.Values{"q": {ids[0]}, "limit": {"1"}, "since": {now.Add(-time.Minute).Format(time.RFC3339)}})
		return len(found) == 2
	})
	if found[0].Action != "job.cancel" || found[1].Action != "job.create" {
		t.Errorf("entries newest first: %+v", found)
	}
	if got := search(url.Values{"action": {"job.create"}, "limit": {"2"}}); len(got) != 3 {
		t.Errorf("job.create entries, 2 a page: %+v", got)
	}
	if got := search(url.Values{"q": {ids[0]}, "until": {now.Add(-time.Minute).Format(time.RFC3339)}}); len(got) != 0 {
		t.Errorf("entries before the job: %+v", got)
	}

	// The job list pages the same way, newest first.
	var listed []string
	q := url.Values{"limit": {"2"}}
	for range 5 {
		var p page[struct{ ID string }]
		r.Do(t, "GET", "/api/v1/orgs/"+org+"/jobs?"+q.Encode(), tok, nil).JSON(t, &p)
		for _, j := range p.Items {
			listed = append(listed, j.ID)
		}
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
	}
	// (The test relay's clock may give the jobs one creation time: their order is then
	// by ID; each is listed once either way.)
	if slices.Sort(listed); !slices.Equal(listed, slices.Sorted(slices.Values(ids))) {
		t.Errorf("jobs listed %v, want each of %v once", listed, ids)
	}

	for _, bad := range []string{"until=yesterday", "cursor=nonsense", "text=x"} {
		checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/"+org+"/audit?"+bad, tok, nil), 400)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/"+org+"/jobs?cursor=nonsense", tok, nil), 400)
}
