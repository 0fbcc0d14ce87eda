package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
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
	must(st.PutProfile(ctx, org.ID, profile.Profile{Name: f.profile, OSTrack: profile.TrackActive, OSVersion: profile.LatestOS,
		Apps: []profile.App{{Name: "vmd", Version: "4.4", Running: true}}, Params: map[string]string{"Image.I0.Appearance.Resolution": "1920x1080"},
		Overlay: "Lobby"}, true))
	f.task = "tsk_fixture"
	must(ignoreRefused(st.PutTasks(ctx, org.ID, h.ID, []linkapi.TaskReport{{ID: f.task, Kind: "onboard", Serial: f.device, State: taskstate.Queued,
		Transitions: []linkapi.Transition{{State: taskstate.Queued, At: st.Now()}}}})))
	if strings.HasSuffix(rt.Pattern, "/audit") {
		must(st.AppendAudit(ctx, []store.AuditEntry{
			{At: st.Now(), Org: org.ID, Principal: w.users[role.Admin].ID, Action: "edgelink", Serial: f.device, Method: "GET",
				Path: "/axis-cgi/basicdeviceinfo.cgi", Status: 200, Bytes: 512, Duration: time.Millisecond},
			{At: st.Now(), Org: org.ID, Principal: "system", Action: store.AuditDeviceRemoved, Serial: f.device, Status: 200, Detail: "removed"},
			{At: st.Now(), Org: org.ID, Principal: w.users[role.Viewer].Email, Action: "sign-in-failed", Status: 401, Source: "192.0.2.9"},
		}))
	}
	if strings.Contains(rt.Pattern, "/vms") {
		_, err := st.PutVMS(ctx, org.ID, store.VMSServer{Name: "fixture-vms", Address: "127.0.0.1:9", EdgeHost: h.ID})
		must(err)
	}
	if !strings.Contains(rt.Pattern, "/jobs") && !strings.Contains(rt.Pattern, "/tasks") && !strings.Contains(rt.Pattern, "/releases") &&
		!strings.Contains(rt.Pattern, "/vapix/") && !strings.Contains(rt.Pattern, "/devices") {
		return f
	}
	// A device the edge host manages, and jobs on it: one running, one ended.
	f.deepDevice = w.serial()
	_, err = st.OnboardDevice(ctx, org.ID, h.ID, f.deepDevice, w.users[role.Admin].ID)
	must(err)
	// Everything an agent reports of a device, so that the answers show every field.
	at := st.Now().Add(time.Minute)
	_, err = st.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: f.deepDevice, Reachable: true, Model: "P3265-V",
		FirmwareVersion: "12.11.60", HardwareID: "92D", Address: "192.0.2.20:80", Profile: f.profile,
		Apps: []profile.InstalledApp{{Name: "vmd", Version: "4.4-5", Running: true, Bundled: true}, {Name: "Rogue", Version: "1.0"}},
		Drift: []profile.Drift{{Cause: profile.DriftLocalAdminUsed, Detail: "local admin account root logged in from 192.0.2.7", FirstSeen: at, LastSeen: at, Count: 1},
			{Cause: profile.DriftUnexpectedApp, Detail: "application Rogue 1.0 is not in profile " + f.profile, Count: 1}},
		Diff: []profile.Change{{Kind: "os", Want: "12.11.80", Have: "12.11.60"}, {Kind: "param", Target: "Image.I0.Appearance.Resolution", Want: "1920x1080", Have: "1280x720"}}}})
	must(err)
	_, err = st.UpdateDevice(ctx, org.ID, f.deepDevice, func(d *store.Device) error {
		d.SetMode(store.ModeManaged, "set by an admin", w.users[role.Admin].ID, st.Now())
		return nil
	})
	must(err)
	task := func() []store.Task {
		return []store.Task{{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: f.deepDevice}, EdgeHost: h.ID, MaxAttempts: 1}}
	}
	j, err := st.CreateJob(ctx, store.Job{Org: org.ID, Kind: "restart", Policy: store.Policy{MaxInFlight: 1, MaxPerMinute: 5,
		Window: &store.Window{Start: "22:00", End: "04:00"}, AbortCount: 1}, Retry: store.Retry{MaxAttempts: 2, BackoffSeconds: 60},
		Selection: json.RawMessage(`{"devices":["` + f.deepDevice + `"]}`), CreatedBy: w.users[role.Admin].ID,
		NotBefore: st.Now(), Deadline: st.Now().Add(time.Hour)}, task())
	must(err)
	f.job = j.ID
	// A task of a job, with what the task manager keeps of it (retries, order), as the
	// tasks routes show it.
	jobTasks, err := st.Tasks(ctx, org.ID, store.TaskFilter{JobID: j.ID}, 10)
	must(err)
	f.task = jobTasks[0].ID
	_, err = st.UpdateTask(ctx, org.ID, f.task, func(t *store.Task) error {
		t.Backoff, t.Seq = time.Minute, 1
		must(t.Move(taskstate.Dispatched, "", st.Now()))
		return nil
	})
	must(err)
	j, err = st.CreateJob(ctx, store.Job{Org: org.ID, Kind: "restart", Policy: store.Policy{MaxInFlight: 1}}, task())
	must(err)
	_, err = st.UpdateJob(ctx, org.ID, j.ID, func(j *store.Job) error { j.State = store.JobSucceeded; return nil })
	must(err)
	f.doneJob = j.ID
	rel, err := st.AddRelease(ctx, store.Release{Kind: store.ReleaseOS, Version: "11.11." + strings.TrimPrefix(f.deepDevice, "ACCC8E"), SHA256: strings.Repeat("0", 64), Size: 1,
		Products: []string{"P3265-V"}, Signature: make([]byte, 64)})
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
		// A fresh number, in decimal: a serial's hex digits are not a version.
		p += "?kind=os&version=9.80." + strconv.FormatInt(w.serials.Add(1), 10)
	}
	serial, name := f.device, f.profile
	if strings.Contains(p, "/vapix/") || strings.Contains(p, "/whep") || rt.Method == http.MethodGet && p == "/api/v1/orgs/{org}/devices/{serial}" {
		serial = f.deepDevice // a device an agent manages
	}
	if strings.Contains(p, "/vms/") {
		name = "fixture-vms"
	}
	return strings.NewReplacer("{org}", f.org.ID, "{user}", w.target.ID, "{serial}", serial, "{id}", id, "{name}", name,
		"{path...}", "axis-cgi/jpg/image.cgi", "{session}", "0123456789abcdef0123456789abcdef").Replace(p)
}

// body is a valid body for a route, so an allowed caller gets a 2xx.
func (w *world) body(rt api.Route, f fixture) any {
	switch rt.Method + " " + rt.Pattern {
	case "POST /api/v1/orgs":
		return map[string]any{"name": "new org"}
	case "POST /api/v1/auth/two-factor/confirm", "POST /api/v1/auth/two-factor/disable", "POST /api/v1/auth/two-factor/recovery-codes":
		return map[string]any{"code": "not-a-code"}
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
	// A code that is never right: confirming a started enrolment refuses it; turning
	// off or renewing what is not on conflicts.
	"POST /api/v1/auth/two-factor/confirm":           http.StatusBadRequest,
	"POST /api/v1/auth/two-factor/disable":           http.StatusConflict,
	"POST /api/v1/auth/two-factor/recovery-codes":    http.StatusConflict,
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
	// WHEP takes SDP, not the matrix's JSON; a session's DELETE goes as far as the agent.
	"POST " + whep:          http.StatusUnsupportedMediaType,
	"PATCH " + whepSession:  http.StatusUnsupportedMediaType,
	"DELETE " + whepSession: http.StatusServiceUnavailable,
}

// whep is live video's offer route, whepSession a session's.
const (
	whep        = "/api/v1/orgs/{org}/devices/{serial}/whep"
	whepSession = whep + "/{session}"
)

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
				} else if res.Status >= 200 && res.Status <= 299 {
					checkAnswer(t, rt, res) // what it answers is what api/openapi.yaml declares
				}
			}
		})
	}
	t.Run("cross-organization serials and reports", w.testAttacks)
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

// attackWorld is organization A's devices in every state of ownership, an edge host of A
// that manages some of them, a second edge host of A, and an edge host of organization B
// (the outsider's), each linked to the relay as its agent.
type attackWorld struct {
	w                   *world
	org                 store.Org
	onboarded, enrolled string // proven: through A's edge host; by the device's agent
	registered, claimed string // unproven records of A
	squatted            string // registered by B before A onboards it
	oak                 string // the enrolled device's real key
	host, host2         store.EdgeHost
	hostB               store.EdgeHost
}

// enrolledEdgeHost makes an edge host of org that has enrolled.
func enrolledEdgeHost(t *testing.T, st *store.Store, org, name string) store.EdgeHost {
	t.Helper()
	tok, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h, err := st.CreateEdgeHost(t.Context(), org, name, hash, st.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ConsumeEnrollmentToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return h
}

func (w *world) attackWorld(t *testing.T) *attackWorld {
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
	orgsB, err := st.OrgsOf(ctx, w.outsider.ID)
	must(err)
	aw := &attackWorld{w: w, org: org, onboarded: w.serial(), enrolled: w.serial(), registered: w.serial(), claimed: w.serial(),
		squatted: w.serial(), oak: "REAL-OAK-" + strings.TrimPrefix(w.serial(), "ACCC8E")}
	aw.host, aw.host2 = enrolledEdgeHost(t, st, org.ID, "site-1"), enrolledEdgeHost(t, st, org.ID, "site-2")
	aw.hostB = enrolledEdgeHost(t, st, orgsB[0].Org.ID, "b-site")
	_, err = st.OnboardDevice(ctx, org.ID, aw.host.ID, aw.onboarded, w.users[role.Admin].ID)
	must(err)
	_, err = st.ReportDevices(ctx, org.ID, aw.host.ID, []linkapi.DeviceReport{{Serial: aw.onboarded, Reachable: true, FirmwareVersion: "11.11.1"}})
	must(err)
	key, err := oak.DeriveKey(aw.enrolled, aw.oak)
	must(err)
	_, _, err = st.ClaimDevice(ctx, store.Device{Org: org.ID, Serial: aw.enrolled}, key)
	must(err)
	_, err = st.MarkDeviceEnrolled(ctx, org.ID, aw.enrolled)
	must(err)
	_, err = st.RegisterDevice(ctx, store.Device{Org: org.ID, Serial: aw.registered, Name: "lobby"})
	must(err)
	key, err = oak.DeriveKey(aw.claimed, aw.oak)
	must(err)
	_, _, err = st.ClaimDevice(ctx, store.Device{Org: org.ID, Serial: aw.claimed, Name: "door"}, key)
	must(err)
	return aw
}

// record is org's record of serial as stored, "" when it has none.
func (aw *attackWorld) record(t *testing.T, org, serial string) string {
	t.Helper()
	d, err := aw.w.r.Store.Device(t.Context(), org, serial)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// attackCase is one attempt of organization B (its admin, person or application) on a
// serial of A: the answer it gets, and whether B holds a record of the serial afterwards.
// A's record of the serial must not change.
type attackCase struct {
	name    string
	serial  func(aw *attackWorld) string
	body    func(aw *attackWorld, serial string) map[string]any
	status  int
	problem problem.Type // for refusals
	bKeeps  bool         // B holds an (unproven) record afterwards
}

var attackCases = []attackCase{
	{name: "register a device A onboarded", serial: func(aw *attackWorld) string { return aw.onboarded },
		body: func(_ *attackWorld, s string) map[string]any { return map[string]any{"serial": s} }, status: http.StatusConflict, problem: problem.DeviceClaimed},
	{name: "claim a device A onboarded, with a made-up key", serial: func(aw *attackWorld) string { return aw.onboarded },
		body: func(_ *attackWorld, s string) map[string]any {
			return map[string]any{"serial": s, "oak": "MADE-UP-KEY-0"}
		}, status: http.StatusConflict, problem: problem.DeviceClaimed},
	{name: "claim a device A's agent enrolled, with a wrong key", serial: func(aw *attackWorld) string { return aw.enrolled },
		body: func(_ *attackWorld, s string) map[string]any {
			return map[string]any{"serial": s, "oak": "WRONG-KEY-000"}
		}, status: http.StatusUnprocessableEntity, problem: problem.OAKMismatch},
	{name: "claim a device A's agent enrolled, with its key", serial: func(aw *attackWorld) string { return aw.enrolled },
		body: func(aw *attackWorld, s string) map[string]any { return map[string]any{"serial": s, "oak": aw.oak} }, status: http.StatusConflict, problem: problem.DeviceClaimed},
	{name: "register a device A only registered", serial: func(aw *attackWorld) string { return aw.registered },
		body: func(_ *attackWorld, s string) map[string]any { return map[string]any{"serial": s, "name": "mine"} }, status: http.StatusCreated, bKeeps: true},
	{name: "claim a device A claimed, with a made-up key", serial: func(aw *attackWorld) string { return aw.claimed },
		body: func(_ *attackWorld, s string) map[string]any {
			return map[string]any{"serial": s, "oak": "MADE-UP-KEY-1"}
		}, status: http.StatusCreated, bKeeps: true},
}

// addDevice registers or claims a device. The attack cases fail proofs on purpose, as
// one organization from one address, so the relay slows them down (TestOwnerKeyGuessing
// tests that): here the clock is moved past each wait, to test what the attempt itself
// answers.
func (w *world) addDevice(t *testing.T, org, tok string, body map[string]any) *relaytest.Response {
	t.Helper()
	for {
		res := w.r.Do(t, http.MethodPost, "/api/v1/orgs/"+org+"/devices", tok, body)
		if res.Status != http.StatusTooManyRequests {
			return res
		}
		secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 60 {
			t.Fatalf("429 with Retry-After %q", res.Header.Get("Retry-After"))
		}
		w.r.Clock.Advance(time.Duration(secs) * time.Second)
	}
}

// testAttacks runs the cross-organization cases of the matrix: organization B registers
// and claims A's serials (as a person and as an application), and edge hosts report
// devices that are not theirs.
func (w *world) testAttacks(t *testing.T) {
	for _, c := range attackCases {
		for _, who := range []string{"outsider", "outsider-app"} {
			t.Run(c.name+" as "+who, func(t *testing.T) {
				aw := w.attackWorld(t)
				tok := w.outsiderClient
				if who == "outsider" {
					tok = w.r.Login(t, w.outsider.Email, password)
				}
				orgsB, err := w.r.Store.OrgsOf(t.Context(), w.outsider.ID)
				if err != nil {
					t.Fatal(err)
				}
				orgB := orgsB[0].Org.ID
				serial := c.serial(aw)
				before := aw.record(t, aw.org.ID, serial)
				res := w.addDevice(t, orgB, tok, c.body(aw, serial))
				if res.Status != c.status {
					t.Fatalf("status %d, want %d; body %s", res.Status, c.status, res.Body)
				}
				if c.status >= 400 {
					if p := checkProblem(t, res, c.status); p.Type != c.problem.URI {
						t.Errorf("problem %s, want %s", p.Type, c.problem.URI)
					}
				}
				if after := aw.record(t, aw.org.ID, serial); after != before {
					t.Errorf("A's record changed:\nbefore %s\nafter  %s", before, after)
				}
				if got := aw.record(t, orgB, serial) != ""; got != c.bKeeps {
					t.Errorf("B holds a record: %v, want %v", got, c.bKeeps)
				}
				// (The store's invariants under these attempts are checked in the store's
				// tests: its Check races with the running relay's writes inside bbolt.)
				// The attempt is in B's audit log, taken or refused (written in batches).
				action := store.AuditDeviceRegister
				if _, withKey := c.body(aw, serial)["oak"]; withKey {
					action = store.AuditDeviceClaim
				}
				wantStatus := c.status
				if wantStatus < 400 {
					wantStatus = http.StatusOK
				}
				testtool.WaitFor(t, 5*time.Second, fmt.Sprintf("one audit entry %s with status %d", action, wantStatus), func() bool {
					entries, _, err := w.r.Store.Audit(t.Context(), orgB, store.AuditFilter{Serial: serial, Action: action}, "", 10)
					if err != nil {
						t.Fatal(err)
					}
					// Attempts the relay held up (429, see addDevice) are audited too.
					entries = slices.DeleteFunc(entries, func(e store.AuditEntry) bool { return e.Status == http.StatusTooManyRequests })
					return len(entries) == 1 && entries[0].Status == wantStatus
				})
			})
		}
	}

	// What B squatted does not stop A: A claims it with its key and onboards it through
	// its edge host; the onboarding proves it, and B's record goes.
	t.Run("B's squatting blocks neither A's claim nor A's onboarding", func(t *testing.T) {
		aw := w.attackWorld(t)
		orgsB, _ := w.r.Store.OrgsOf(t.Context(), w.outsider.ID)
		orgB := orgsB[0].Org.ID
		res := w.addDevice(t, orgB, w.outsiderClient, map[string]any{"serial": aw.squatted, "oak": "MADE-UP-KEY-2"})
		if res.Status != http.StatusCreated {
			t.Fatalf("B's squat: %d %s", res.Status, res.Body)
		}
		admin := w.r.Login(t, w.users[role.Admin].Email, password)
		res = w.r.Do(t, http.MethodPost, "/api/v1/orgs/"+aw.org.ID+"/devices", admin, map[string]any{"serial": aw.squatted, "oak": aw.oak})
		if res.Status != http.StatusCreated {
			t.Fatalf("A's claim with its key after B's squat: %d %s", res.Status, res.Body)
		}
		agent := w.r.Agent(t, aw.org.ID, aw.host.ID, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var req linkapi.OnboardRequest
			if r.URL.Path != linkapi.OnboardPath || json.NewDecoder(r.Body).Decode(&req) != nil {
				http.NotFound(rw, r)
				return
			}
			rw.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(rw).Encode(linkapi.OnboardResponse{Tasks: []linkapi.TaskReport{{ID: "tsk_onboard_squatted", Kind: "onboard",
				Serial: req.Devices[0].Serial, State: taskstate.Queued, CreatedBy: "agent"}}})
		}))
		res = w.r.Do(t, http.MethodPost, "/api/v1/orgs/"+aw.org.ID+"/edgehosts/"+aw.host.ID+"/onboard", admin,
			map[string]any{"devices": []any{map[string]any{"serial": aw.squatted, "username": "root", "password": "pass"}}})
		if res.Status != http.StatusAccepted {
			t.Fatalf("A's onboarding after B's squat: %d %s", res.Status, res.Body)
		}
		checkAnswer(t, api.Route{Method: http.MethodPost, Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/onboard"}, res)
		done := []linkapi.TaskReport{{ID: "tsk_onboard_squatted", Kind: "onboard", Serial: aw.squatted, State: taskstate.Succeeded, CreatedBy: "agent",
			Transitions: []linkapi.Transition{{State: taskstate.Succeeded, At: time.Now()}}}}
		if err := linkapi.Call(t.Context(), agent.Client(), http.MethodPost, "http://relay"+linkapi.TasksPath, done, nil); err != nil {
			t.Fatal(err)
		}
		d, err := w.r.Store.Device(t.Context(), aw.org.ID, aw.squatted)
		if err != nil || !d.Proven || d.EdgeHost != aw.host.ID {
			t.Fatalf("A's device after its onboarding: %+v %v", d, err)
		}
		if aw.record(t, orgB, aw.squatted) != "" {
			t.Error("B's unproven record outlived A's onboarding")
		}
		entries, _, err := w.r.Store.Audit(t.Context(), orgB, store.AuditFilter{Serial: aw.squatted, Action: store.AuditDeviceRemoved}, "", 10)
		if err != nil || len(entries) != 1 {
			t.Errorf("removal of B's record in B's audit log: %+v %v", entries, err)
		}
	})

	// An edge host reports a device another edge host of its organization manages, or one
	// of another organization: nothing changes, and nothing is added.
	for _, c := range []struct {
		name  string
		agent func(aw *attackWorld) store.EdgeHost
	}{
		{"another edge host of A reports A's device", func(aw *attackWorld) store.EdgeHost { return aw.host2 }},
		{"B's edge host reports A's device", func(aw *attackWorld) store.EdgeHost { return aw.hostB }},
	} {
		t.Run(c.name, func(t *testing.T) {
			aw := w.attackWorld(t)
			h := c.agent(aw)
			before := aw.record(t, aw.org.ID, aw.onboarded)
			agent := w.r.Agent(t, h.Org, h.ID, nil)
			report := []linkapi.DeviceReport{{Serial: aw.onboarded, Reachable: true, FirmwareVersion: "9.80.1", Address: "192.0.2.66:80"},
				{Serial: aw.registered, Reachable: true}}
			if err := linkapi.Call(t.Context(), agent.Client(), http.MethodPost, "http://relay"+linkapi.InventoryPath, report, nil); err != nil {
				t.Fatal(err)
			}
			if after := aw.record(t, aw.org.ID, aw.onboarded); after != before {
				t.Errorf("the report changed A's device:\nbefore %s\nafter  %s", before, after)
			}
			if d, _ := w.r.Store.Device(t.Context(), aw.org.ID, aw.registered); d.Proven || d.Deep() {
				t.Errorf("the report made A's registered device managed: %+v", d)
			}
			if h.Org != aw.org.ID && aw.record(t, h.Org, aw.onboarded) != "" {
				t.Error("the report added A's device to B")
			}
		})
	}
}

// ignoreRefused drops the refused reports of a store call that records task reports.
func ignoreRefused(_ []store.Refused, err error) error { return err }
