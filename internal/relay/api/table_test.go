package api_test

import (
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/api"
)

// TestPermissionTableIsDeliberate pins the permission table as DESIGN.md reads: the route
// matrix checks that the router does what the table says, this checks that the table says
// what we decided. Changing a role here is a product decision; say why in the commit.
func TestPermissionTableIsDeliberate(t *testing.T) {
	want := map[string]string{
		"GET /healthz":                                   "public",
		"GET /metrics":                                   "public",
		"POST /api/v1/auth/token":                        "public",
		"POST /api/v1/auth/revoke":                       "authenticated",
		"GET /api/v1/me":                                 "authenticated",
		"GET /api/v1/auth/two-factor":                    "user",
		"POST /api/v1/auth/two-factor":                   "user",
		"POST /api/v1/auth/two-factor/confirm":           "user",
		"POST /api/v1/auth/two-factor/disable":           "user",
		"POST /api/v1/auth/two-factor/recovery-codes":    "user",
		"POST /api/v1/agent/enroll":                      "public",
		"GET /api/v1/agent/link":                         "agent",
		"POST /api/v1/agent/challenge":                   "public",
		"POST /api/v1/agent/enroll-device":               "public",
		"POST /api/v1/invitations/{code}/accept":         "optional-auth",
		"POST /api/v1/orgs":                              "user",
		"GET /api/v1/orgs":                               "authenticated",
		"GET /api/v1/orgs/{org}":                         "viewer",
		"PATCH /api/v1/orgs/{org}":                       "admin",
		"DELETE /api/v1/orgs/{org}":                      "admin",
		"GET /api/v1/orgs/{org}/members":                 "admin",
		"GET /api/v1/orgs/{org}/members/{user}":          "admin",
		"PATCH /api/v1/orgs/{org}/members/{user}":        "admin",
		"DELETE /api/v1/orgs/{org}/members/{user}":       "admin",
		"POST /api/v1/orgs/{org}/invitations":            "admin",
		"GET /api/v1/orgs/{org}/invitations":             "admin",
		"DELETE /api/v1/orgs/{org}/invitations/{id}":     "admin",
		"POST /api/v1/orgs/{org}/clients":                "admin",
		"GET /api/v1/orgs/{org}/clients":                 "admin",
		"GET /api/v1/orgs/{org}/clients/{id}":            "admin",
		"DELETE /api/v1/orgs/{org}/clients/{id}":         "admin",
		"POST /api/v1/orgs/{org}/resource-groups":        "admin",
		"GET /api/v1/orgs/{org}/resource-groups":         "viewer",
		"GET /api/v1/orgs/{org}/resource-groups/{id}":    "viewer",
		"PATCH /api/v1/orgs/{org}/resource-groups/{id}":  "admin",
		"DELETE /api/v1/orgs/{org}/resource-groups/{id}": "admin",
		"GET /api/v1/orgs/{org}/devices":                 "viewer",
		"POST /api/v1/orgs/{org}/devices":                "admin",
		"GET /api/v1/orgs/{org}/devices/{serial}":        "viewer",
		"PATCH /api/v1/orgs/{org}/devices/{serial}":      "admin",
		"DELETE /api/v1/orgs/{org}/devices/{serial}":     "admin",
		"POST /api/v1/orgs/{org}/edgehosts":              "admin",
		"GET /api/v1/orgs/{org}/edgehosts":               "operator",
		"GET /api/v1/orgs/{org}/edgehosts/{id}":          "operator",
		"DELETE /api/v1/orgs/{org}/edgehosts/{id}":       "admin",
		// Operators see what edge hosts found and the tasks; onboarding and profiles are
		// device administration.
		"GET /api/v1/orgs/{org}/edgehosts/{id}/discovered": "operator",
		"POST /api/v1/orgs/{org}/edgehosts/{id}/onboard":   "admin",
		"GET /api/v1/orgs/{org}/profiles":                  "operator",
		"POST /api/v1/orgs/{org}/profiles":                 "admin",
		"GET /api/v1/orgs/{org}/profiles/{name}":           "operator",
		"PUT /api/v1/orgs/{org}/profiles/{name}":           "admin",
		"DELETE /api/v1/orgs/{org}/profiles/{name}":        "admin",
		"GET /api/v1/orgs/{org}/tasks":                     "operator",
		// Rollouts change devices: admins start and stop them, operators follow them.
		"POST /api/v1/orgs/{org}/jobs":             "admin",
		"GET /api/v1/orgs/{org}/jobs":              "operator",
		"GET /api/v1/orgs/{org}/jobs/{id}":         "operator",
		"POST /api/v1/orgs/{org}/jobs/{id}/cancel": "admin",
		"GET /api/v1/orgs/{org}/jobs/{id}/events":  "operator",
		// EdgeLink: the handler narrows operators to reading and operating calls.
		"GET /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}":    "operator",
		"POST /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}":   "operator",
		"PUT /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}":    "operator",
		"PATCH /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}":  "operator",
		"DELETE /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}": "operator",
		"GET /api/v1/orgs/{org}/audit":                               "admin",
		"GET /api/v1/orgs/{org}/ice-servers":                         "viewer",
		// The edge host's own API: the agent allows mutations to admins only.
		"POST /api/v1/orgs/{org}/edgehosts/{id}/graphql": "operator",
		// VMS servers: registered by admins; operators read from them, admins change.
		"GET /api/v1/orgs/{org}/edgehosts/{id}/vms":                     "operator",
		"PUT /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}":              "admin",
		"DELETE /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}":           "admin",
		"GET /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}":    "operator",
		"POST /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}":   "admin",
		"PUT /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}":    "admin",
		"PATCH /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}":  "admin",
		"DELETE /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}": "admin",
		// The software catalog is the relay's: anyone may read it, its operators fill it.
		"GET /api/v1/releases":              "authenticated",
		"POST /api/v1/releases":             "relay-admin",
		"GET /api/v1/releases/{id}":         "authenticated",
		"DELETE /api/v1/releases/{id}":      "relay-admin",
		"GET /api/v1/orgs/{org}/tasks/{id}": "operator",
		// Live video is what viewers are for; CORS preflight carries no credentials.
		"POST /api/v1/orgs/{org}/devices/{serial}/whep":              "viewer",
		"OPTIONS /api/v1/orgs/{org}/devices/{serial}/whep":           "public",
		"PATCH /api/v1/orgs/{org}/devices/{serial}/whep/{session}":   "viewer",
		"DELETE /api/v1/orgs/{org}/devices/{serial}/whep/{session}":  "viewer",
		"OPTIONS /api/v1/orgs/{org}/devices/{serial}/whep/{session}": "public",
	}
	got := map[string]string{}
	for _, rt := range api.Routes() {
		access := rt.Access.String()
		if rt.Access == api.Org {
			access = rt.MinRole.String()
		}
		got[rt.Method+" "+rt.Pattern] = access
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: table says %q, decided %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: new route; add its access here", k)
		}
	}
}
