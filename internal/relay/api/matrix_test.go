package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

const password = "matrix-password"

// world is the cast of the route matrix: one person per role, a target member for the
// member routes, and an outsider who is admin of another organization.
type world struct {
	r              *relaytest.Relay
	users          map[role.Role]store.User
	target         store.User
	outsider       store.User
	outsiderToken  string
	outsiderClient string // token of an admin application of organization B
	serials        atomic.Int64
}

// fixture is a fresh organization A with everything a route can name.
type fixture struct {
	org                                 store.Org
	device                              string
	group, client, invitation, edgeHost string
	profile, task                       string
	deepDevice, job, doneJob, release   string
	clientTokens                        map[role.Role]string
}

func newWorld(t *testing.T) *world {
	r := relaytest.Start(t)
	w := &world{r: r, users: map[role.Role]store.User{}}
	for _, rl := range role.All() {
		w.users[rl] = r.CreateUser(t, "matrix-"+rl.String()+"@example.com", password)
	}
	w.target = r.CreateUser(t, "target@example.com", password)
	w.outsider = r.CreateUser(t, "outsider@example.com", password)
	orgB, err := r.Store.CreateOrg(t.Context(), "B", w.outsider.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.outsiderToken = r.Login(t, w.outsider.Email, password)
	secret, hash := auth.NewSecret(auth.PrefixClientSecret)
	c, err := r.Store.CreateClient(t.Context(), orgB.ID, "b-app", role.Admin, hash)
	if err != nil {
		t.Fatal(err)
	}
	w.outsiderClient = r.ClientToken(t, c.ID, secret)
	return w
}

func (w *world) fixture(t *testing.T, rt api.Route) fixture {
	t.Helper()
	ctx, st := t.Context(), w.r.Store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	org, err := st.CreateOrg(ctx, "A", w.users[role.Admin].ID)
	must(err)
	f := fixture{org: org, clientTokens: map[role.Role]string{}}
	for _, rl := range []role.Role{role.Viewer, role.Operator} {
		_, err := st.AddMember(ctx, org.ID, w.users[rl].ID, rl)
		must(err)
	}
	_, err = st.AddMember(ctx, org.ID, w.target.ID, role.Viewer)
	must(err)
	g, err := st.CreateGroup(ctx, org.ID, "lobby", "")
	must(err)
	f.group = g.ID
	f.device = w.serial()
	_, err = st.RegisterDevice(ctx, store.Device{Org: org.ID, Serial: f.device, Model: "P3265-V"})
	must(err)
	_, hash := auth.NewSecret(auth.PrefixClientSecret)
	c, err := st.CreateClient(ctx, org.ID, "fixture-app", role.Viewer, hash)
	must(err)
	f.client = c.ID
	_, hash = auth.NewSecret(auth.PrefixInvitation)
	inv, err := st.CreateInvitation(ctx, store.Invitation{Org: org.ID, Role: role.Viewer, ExpiresAt: st.Now().Add(time.Hour)}, hash)
	must(err)
	f.invitation = inv.ID
	_, hash = auth.NewSecret(auth.PrefixEnrollmentToken)
	h, err := st.CreateEdgeHost(ctx, org.ID, "site", hash, st.Now().Add(time.Hour))
	must(err)
	f.edgeHost = h.ID
	f.profile = "fixture-profile"
	must(st.PutProfile(ctx, org.ID, profile.Profile{Name: f.profile}, true))
	f.task = "tsk_fixture"
	must(st.PutTasks(ctx, org.ID, h.ID, []linkapi.TaskReport{{ID: f.task, Kind: "onboard", Serial: f.device, State: linkapi.TaskQueued,
		Transitions: []linkapi.Transition{{State: linkapi.TaskQueued, At: st.Now()}}}}))
	if strings.Contains(rt.Pattern, "/vms") {
		_, err := st.PutVMS(ctx, org.ID, store.VMSServer{Name: "fixture-vms", Address: "127.0.0.1:9", EdgeHost: h.ID})
		must(err)
	}
	if !strings.Contains(rt.Pattern, "/jobs") && !strings.Contains(rt.Pattern, "/releases") && !strings.Contains(rt.Pattern, "/vapix/") {
		return f
	}
	// A device the edge host manages, and jobs on it: one running, one ended.
	f.deepDevice = w.serial()
	_, err = st.OnboardDevice(ctx, org.ID, h.ID, f.deepDevice, w.users[role.Admin].ID)
	must(err)
	_, err = st.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: f.deepDevice, Reachable: true}})
	must(err)
	task := func() []store.Task {
		return []store.Task{{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: f.deepDevice}, EdgeHost: h.ID, MaxAttempts: 1}}
	}
	j, err := st.CreateJob(ctx, store.Job{Org: org.ID, Kind: "restart", Policy: store.Policy{MaxInFlight: 1}}, task())
	must(err)
	f.job = j.ID
	j, err = st.CreateJob(ctx, store.Job{Org: org.ID, Kind: "restart", Policy: store.Policy{MaxInFlight: 1}}, task())
	must(err)
	_, err = st.UpdateJob(ctx, org.ID, j.ID, func(j *store.Job) error { j.State = store.JobSucceeded; return nil })
	must(err)
	f.doneJob = j.ID
	rel, err := st.AddRelease(ctx, store.Release{Kind: store.ReleaseOS, Version: "11.11." + strings.TrimPrefix(f.deepDevice, "ACCC8E"), SHA256: strings.Repeat("0", 64), Size: 1})
	must(err)
	f.release = rel.ID
	return f
}

func (w *world) serial() string { return fmt.Sprintf("ACCC8E%06X", w.serials.Add(1)) }

// clientToken makes an application of organization A with the role and returns its token.
func (w *world) clientToken(t *testing.T, f fixture, rl role.Role) string {
	t.Helper()
	secret, hash := auth.NewSecret(auth.PrefixClientSecret)
	c, err := w.r.Store.CreateClient(t.Context(), f.org.ID, "app-"+rl.String(), rl, hash)
	if err != nil {
		t.Fatal(err)
	}
	return w.r.ClientToken(t, c.ID, secret)
}

// path fills a route pattern with the fixture's names.
func (f fixture) path(rt api.Route, w *world) string {
	p := rt.Pattern
	id := ""
	switch {
	case strings.Contains(p, "/invitations/"):
		id = f.invitation
	case strings.Contains(p, "/clients/"):
		id = f.client
	case strings.Contains(p, "/resource-groups/"):
		id = f.group
	case strings.Contains(p, "/edgehosts/"):
		id = f.edgeHost
	case strings.Contains(p, "/tasks/"):
		id = f.task
	case strings.HasSuffix(p, "/jobs/{id}/events"):
		id = f.doneJob
	case strings.Contains(p, "/jobs/"):
		id = f.job
	case strings.Contains(p, "/releases/"):
		id = f.release
	case rt.Method == "POST" && p == "/api/v1/releases":
		p += "?kind=os&version=9.80." + strings.TrimPrefix(w.serial(), "ACCC8E")
	}
	serial, name := f.device, f.profile
	if strings.Contains(p, "/vapix/") {
		serial = f.deepDevice // a device an agent manages
	}
	if strings.Contains(p, "/vms/") {
		name = "fixture-vms"
	}
	return strings.NewReplacer("{org}", f.org.ID, "{user}", w.target.ID, "{serial}", serial, "{id}", id, "{name}", name,
		"{path...}", "axis-cgi/jpg/image.cgi").Replace(p)
}

// body is a valid body for a route, so an allowed caller gets a 2xx.
func (w *world) body(rt api.Route, f fixture) any {
	switch rt.Method + " " + rt.Pattern {
	case "POST /api/v1/orgs":
		return map[string]any{"name": "new org"}
	case "PATCH /api/v1/orgs/{org}":
		return map[string]any{"name": "renamed"}
	case "PATCH /api/v1/orgs/{org}/members/{user}":
		return map[string]any{"role": "operator"}
	case "POST /api/v1/orgs/{org}/invitations":
		return map[string]any{"role": "viewer"}
	case "POST /api/v1/orgs/{org}/clients":
		return map[string]any{"name": "app", "role": "viewer"}
	case "POST /api/v1/orgs/{org}/resource-groups":
		return map[string]any{"name": "yard"}
	case "PATCH /api/v1/orgs/{org}/resource-groups/{id}":
		return map[string]any{"description": "the yard"}
	case "POST /api/v1/orgs/{org}/devices":
		return map[string]any{"serial": w.serial(), "model": "M1075-L"}
	case "PATCH /api/v1/orgs/{org}/devices/{serial}":
		return map[string]any{"name": "door"}
	case "POST /api/v1/orgs/{org}/edgehosts":
		return map[string]any{"name": "site 2"}
	case "POST /api/v1/orgs/{org}/edgehosts/{id}/onboard":
		return map[string]any{"devices": []any{map[string]any{"serial": w.serial(), "username": "root", "password": "pass"}}}
	case "POST /api/v1/orgs/{org}/profiles":
		return map[string]any{"name": "new-profile", "osTrack": "lts-2024"}
	case "PUT /api/v1/orgs/{org}/profiles/{name}":
		return map[string]any{"osTrack": "active"}
	case "PUT /api/v1/orgs/{org}/edgehosts/{id}/vms/{name}":
		return map[string]any{"address": "192.0.2.10:443", "https": true}
	case "POST /api/v1/orgs/{org}/jobs":
		return map[string]any{"kind": "restart", "devices": []string{f.deepDevice}}
	case "POST /api/v1/releases":
		return map[string]any{"a release file": "any bytes"}
	}
	return nil
}

// allowed is the status a permitted caller gets where it is not 2xx: onboarding needs
// the edge host's agent, which the matrix's relay does not have.
var allowed = map[string]int{
	"POST /api/v1/orgs/{org}/edgehosts/{id}/onboard": http.StatusServiceUnavailable,
	"POST /api/v1/orgs/{org}/edgehosts/{id}/graphql": http.StatusServiceUnavailable,
	"GET " + vapix:    http.StatusServiceUnavailable,
	"POST " + vapix:   http.StatusServiceUnavailable,
	"PUT " + vapix:    http.StatusServiceUnavailable,
	"PATCH " + vapix:  http.StatusServiceUnavailable,
	"DELETE " + vapix: http.StatusServiceUnavailable,
	"GET " + vms:      http.StatusServiceUnavailable,
	"POST " + vms:     http.StatusServiceUnavailable,
	"PUT " + vms:      http.StatusServiceUnavailable,
	"PATCH " + vms:    http.StatusServiceUnavailable,
	"DELETE " + vms:   http.StatusServiceUnavailable,
}

// vms is EdgeLink to a VMS server, also as far as the (absent) agent.
const vms = "/api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}"

// vapix is EdgeLink's route: an allowed caller gets as far as the device's agent, which
// the matrix's relay does not have (agent-offline).
const vapix = "/api/v1/orgs/{org}/devices/{serial}/vapix/{path...}"

type caller struct {
	name string
	// token returns the caller's bearer token for a fixture ("" for none).
	token func(t *testing.T, f fixture) string
	// want is the status class expected: "ok" (2xx), or an exact status.
	want func(rt api.Route) int
}

const ok = 200

// TestRouteMatrix checks every route of the permission table: without a token 401; with
// each role (as a person and as an application) 2xx or 403 as the table says; as a member
// of another organization 404. Agent (mutual TLS) routes refuse every bearer token.
func TestRouteMatrix(t *testing.T) {
	w := newWorld(t)
	userToken := func(rl role.Role) func(*testing.T, fixture) string {
		return func(t *testing.T, _ fixture) string {
			return w.r.Login(t, w.users[rl].Email, password) // fresh: the revoke route ends it
		}
	}
	clientTok := func(rl role.Role) func(*testing.T, fixture) string {
		return func(t *testing.T, f fixture) string { return w.clientToken(t, f, rl) }
	}
	byRole := func(rl role.Role, person bool) func(api.Route) int {
		return func(rt api.Route) int {
			switch rt.Access {
			case api.RelayAdmin:
				return http.StatusForbidden // none of them is an admin of the relay's own organization
			case api.UserOnly:
				if !person {
					return http.StatusForbidden
				}
				return ok
			case api.Org:
				if rl.AtLeast(rt.MinRole) {
					return ok
				}
				return http.StatusForbidden
			}
			return ok
		}
	}
	callers := []caller{
		{name: "anonymous", token: func(*testing.T, fixture) string { return "" }, want: func(api.Route) int { return http.StatusUnauthorized }},
		{name: "outsider", token: func(t *testing.T, _ fixture) string { return w.r.Login(t, w.outsider.Email, password) }, want: func(rt api.Route) int {
			switch rt.Access {
			case api.Org:
				return http.StatusNotFound
			case api.RelayAdmin:
				return http.StatusForbidden
			}
			return ok
		}},
		{name: "outsider-app", token: func(*testing.T, fixture) string { return w.outsiderClient }, want: func(rt api.Route) int {
			switch rt.Access {
			case api.Org:
				return http.StatusNotFound
			case api.UserOnly, api.RelayAdmin:
				return http.StatusForbidden
			}
			return ok
		}},
		// The first admin, of the organization that runs the relay: the software catalog.
		{name: "relay-admin", token: func(t *testing.T, _ fixture) string {
			return w.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
		}, want: func(rt api.Route) int {
			if rt.Access == api.Org {
				return http.StatusNotFound
			}
			return ok
		}},
	}
	for _, rl := range role.All() {
		callers = append(callers,
			caller{name: rl.String(), token: userToken(rl), want: byRole(rl, true)},
			caller{name: rl.String() + "-app", token: clientTok(rl), want: byRole(rl, false)},
		)
	}
	for _, rt := range api.Routes() {
		if rt.Access == api.Public || rt.Access == api.OptionalAuth {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			for _, c := range callers {
				if c.name == "outsider-app" && rt.Pattern == "/api/v1/auth/revoke" {
					continue // would end the shared token; "outsider" covers the route
				}
				f := w.fixture(t, rt)
				res := w.r.Do(t, rt.Method, f.path(rt, w), c.token(t, f), w.body(rt, f))
				want := c.want(rt)
				if rt.Access == api.Agent {
					want = http.StatusUnauthorized // a bearer token is never an agent certificate
				}
				if st, ok2 := allowed[rt.Method+" "+rt.Pattern]; ok2 && want == ok {
					want = st
				}
				if want == ok && (res.Status < 200 || res.Status > 299) || want != ok && res.Status != want {
					t.Errorf("%s: status %d, want %v; body %s", c.name, res.Status, statusName(want), res.Body)
					continue
				}
				if want != ok {
					checkProblem(t, res, want)
				}
			}
		})
	}
}

func statusName(s int) string {
	if s == ok {
		return "2xx"
	}
	return fmt.Sprint(s)
}

// checkProblem asserts an answer is problem+json of the catalogue type for its status
// with a request ID matching the header.
func checkProblem(t *testing.T, res *relaytest.Response, status int) problem.Problem {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("content type %q, want %s (body %s)", ct, problem.ContentType, res.Body)
	}
	var p problem.Problem
	res.JSON(t, &p)
	if p.Status != status {
		t.Errorf("problem status %d, want %d", p.Status, status)
	}
	found := false
	for _, ty := range problem.Catalogue() {
		found = found || (ty.URI == p.Type && ty.Status == status)
	}
	if !found {
		t.Errorf("problem type %q with status %d is not in the catalogue", p.Type, status)
	}
	if p.RequestID == "" || p.RequestID != res.Header.Get(problem.RequestIDHeader) {
		t.Errorf("request ID %q in body, %q in header", p.RequestID, res.Header.Get(problem.RequestIDHeader))
	}
	return p
}
