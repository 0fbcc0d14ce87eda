package api_test

import (
	"testing"

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
