package api_test

import (
	"net/http"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// A device's mode history says who switched it by e-mail, as people know each other,
// with the user ID beside it; the default reason names the person the same way.
func TestModeHistoryShowsWhoByEmail(t *testing.T) {
	r, tok, org := adminSetup(t)
	admin, err := r.Store.UserByEmail(t.Context(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h := enrolledEdgeHost(t, r.Store, org, "site")
	const serial = "ACCC8E0A0001"
	if _, err := r.Store.OnboardDevice(t.Context(), org, h.ID, serial, admin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: serial, Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	res := r.Do(t, "PATCH", "/api/v1/orgs/"+org+"/devices/"+serial, tok, map[string]any{"mode": "connected"})
	if res.Status != http.StatusOK {
		t.Fatalf("switch to connected: %d %s", res.Status, res.Body)
	}
	var d struct {
		ModeHistory []struct {
			To, Reason, By, ByID string
		} `json:"modeHistory"`
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices/"+serial, tok, nil).JSON(t, &d)
	if n := len(d.ModeHistory); n == 0 {
		t.Fatalf("no mode history")
	}
	last := d.ModeHistory[len(d.ModeHistory)-1]
	if last.To != "connected" || last.By != admin.Email || last.ByID != admin.ID || last.Reason != "set by "+admin.Email {
		t.Errorf("last mode change %+v, want to connected by %s (%s), reason %q", last, admin.Email, admin.ID, "set by "+admin.Email)
	}
}
