package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/relay/store"
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

// A camera its own agent (devicehost) manages is onboarded: an edge host that finds it on
// its network lists it as such, not as a camera still to onboard.
func TestDiscoveredDeviceManagedByItsOwnAgentIsOnboarded(t *testing.T) {
	r, tok, org := adminSetup(t)
	h := enrolledEdgeHost(t, r.Store, org, "site")
	const onDevice, fresh = "ACCC8E0B0001", "ACCC8E0B0002"
	key, err := oak.DeriveKey(onDevice, "OAK-OF-THE-CAMERA")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Store.ClaimDevice(t.Context(), store.Device{Org: org, Serial: onDevice}, key); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.MarkDeviceEnrolled(t.Context(), org, onDevice); err != nil {
		t.Fatal(err)
	}
	now := r.Clock.Now()
	if err := r.Store.SetDiscovered(t.Context(), org, h.ID, []linkapi.DiscoveredDevice{
		{Serial: onDevice, Address: "192.0.2.10:80", Source: "mdns", FirstSeen: now, LastSeen: now},
		{Serial: fresh, Address: "192.0.2.11:80", Source: "mdns", FirstSeen: now, LastSeen: now},
	}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Serial    string `json:"serial"`
			Onboarded bool   `json:"onboarded"`
		} `json:"items"`
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/edgehosts/"+h.ID+"/discovered", tok, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Serial != fresh {
		t.Errorf("not yet onboarded: %+v, want only %s", list.Items, fresh)
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/edgehosts/"+h.ID+"/discovered?all=true", tok, nil).JSON(t, &list)
	for _, d := range list.Items {
		if want := d.Serial == onDevice; d.Onboarded != want {
			t.Errorf("%s: onboarded %v, want %v", d.Serial, d.Onboarded, want)
		}
	}
}

// A connected camera is recommended an AXIS OS only when the release catalog holds a
// newer one for its model on its track: never the model catalog's static version when
// the camera already runs a newer one (12.11.80 was told to go to 12.11.77).
func TestOSRecommendationIsAnUpgradeFromTheReleaseCatalog(t *testing.T) {
	r, tok, org := adminSetup(t)
	h := enrolledEdgeHost(t, r.Store, org, "site")
	const serial = "ACCC8E0C0001"
	if _, err := r.Store.OnboardDevice(t.Context(), org, h.ID, serial, "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: serial, Model: "P3265-V", FirmwareVersion: "12.11.80", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	if res := r.Do(t, "PATCH", "/api/v1/orgs/"+org+"/devices/"+serial, tok, map[string]any{"mode": "connected"}); res.Status != http.StatusOK {
		t.Fatalf("switch to connected: %d %s", res.Status, res.Body)
	}
	var d struct {
		OSRecommendation string `json:"osRecommendation"`
	}
	for _, v := range []string{"12.11.77", "12.11.60", "11.11.130"} {
		if _, err := r.Store.AddRelease(t.Context(), store.Release{Kind: store.ReleaseOS, Version: v, Products: []string{"P3265-V"}, SHA256: strings.Repeat("0", 64), Size: 1}); err != nil {
			t.Fatal(err)
		}
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices/"+serial, tok, nil).JSON(t, &d)
	if d.OSRecommendation != "" {
		t.Errorf("camera on 12.11.80 with 12.11.77 the newest published: recommendation %q, want none", d.OSRecommendation)
	}
	if _, err := r.Store.AddRelease(t.Context(), store.Release{Kind: store.ReleaseOS, Version: "12.11.90", Products: []string{"P3265-V"}, SHA256: strings.Repeat("1", 64), Size: 1}); err != nil {
		t.Fatal(err)
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices/"+serial, tok, nil).JSON(t, &d)
	if !strings.Contains(d.OSRecommendation, "12.11.90") {
		t.Errorf("after 12.11.90 was published: recommendation %q", d.OSRecommendation)
	}
}
