package api_test

import (
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
)

// A daily window that ends when it starts is never open: a job held to it would neither
// start nor end, so it is refused, for a job and for the organization's maintenance
// window (which the profile jobs use).
func TestWindowThatEndsWhenItStartsIsRefused(t *testing.T) {
	r, tok, org := adminSetup(t)
	cases := []struct {
		name, method, path, body, param string
	}{
		{"job", "POST", "/api/v1/orgs/" + org + "/jobs",
			`{"kind":"restart","all":true,"policy":{"maxInFlight":1,"window":{"start":"00:00","end":"00:00"}}}`, "policy.window.end"},
		{"job, wrapping window", "POST", "/api/v1/orgs/" + org + "/jobs",
			`{"kind":"restart","all":true,"policy":{"maxInFlight":1,"window":{"start":"22:00","end":"02:00"}}}`, "devices"},
		{"maintenance window", "PATCH", "/api/v1/orgs/" + org, `{"maintenanceWindow":{"start":"03:30","end":"03:30"}}`, "maintenanceWindow.end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.Do(t, c.method, c.path, tok, c.body)
			if res.Status != 400 {
				t.Fatalf("status %d, want 400: %s", res.Status, res.Body)
			}
			p := checkProblem(t, res, 400)
			if p.Type != problem.Validation.URI || len(p.InvalidParams) == 0 || p.InvalidParams[0].Name != c.param {
				t.Errorf("problem %s %+v, want %s", p.Type, p.InvalidParams, c.param)
			}
		})
	}
}

// A software job the release catalog cannot serve is refused naming the parameter at
// fault and what was looked for, before any task is made.
func TestSoftwareJobWithoutReleaseNamesTheParameter(t *testing.T) {
	r, tok, org := adminSetup(t)
	var h struct{ ID string }
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "site-1"}).JSON(t, &h)
	const serial = "ACCC8E030001"
	if _, err := r.Store.OnboardDevice(t.Context(), org, h.ID, serial, "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: serial, Model: "Q6135-LE", FirmwareVersion: "12.0.1", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body, param, detail string
	}{
		{"no AXIS OS release", `{"kind":"firmware","params":{"version":"99.1.1"},"devices":["` + serial + `"]}`,
			"params.version", "AXIS OS 99.1.1 for Q6135-LE"},
		{"application without version", `{"kind":"app-install","params":{"name":"vmd"},"devices":["` + serial + `"]}`,
			"params.version", "version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/jobs", tok, c.body)
			p := checkProblem(t, res, 400)
			if p.Type != problem.Validation.URI || len(p.InvalidParams) == 0 || p.InvalidParams[0].Name != c.param || !strings.Contains(p.InvalidParams[0].Reason, c.detail) {
				t.Errorf("problem %s %+v, want %s naming %q", p.Type, p.InvalidParams, c.param, c.detail)
			}
		})
	}
}
