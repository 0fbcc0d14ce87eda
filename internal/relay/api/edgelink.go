package api

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// maxAgentStreams bounds the EdgeLink requests in flight to one agent; the agent queues
// what its devices cannot take at once.
const maxAgentStreams = 2048

// operatorVAPIX are the VAPIX paths operators may call: reading the device, snapshots
// and video, PTZ and events. Everything else (settings, firmware, apps, users) is for
// admins; viewers reach no VAPIX at all.
var operatorVAPIX = map[string]bool{
	"axis-cgi/basicdeviceinfo.cgi": true,
	"axis-cgi/apidiscovery.cgi":    true,
	"axis-cgi/systemready.cgi":     true,
	"axis-cgi/jpg/image.cgi":       true,
	"axis-cgi/mjpg/video.cgi":      true,
	"axis-cgi/com/ptz.cgi":         true,
	"axis-cgi/wssession.cgi":       true,
	"vapix/ws-data-stream":         true,
}

// adminParamGroups are the parameter groups only a device's admins may list
// (reference/vapix.md 1.3): the agent reads the device with an admin account, so the
// relay keeps operators out of them.
var adminParamGroups = map[string]bool{"network": true, "system": true}

// operatorMay reports whether an operator may make this VAPIX call: a path of
// operatorVAPIX, or listing named parameter groups other than adminParamGroups with GET.
func operatorMay(r *http.Request, path string) bool {
	if operatorVAPIX[path] {
		return true
	}
	if path != "axis-cgi/param.cgi" && path != "axis-cgi/admin/param.cgi" || r.Method != http.MethodGet || r.ContentLength != 0 {
		return false
	}
	// The device parses the query, not Go: allow one unambiguous action=list and nothing
	// another parser could read otherwise (';' separators, bad escapes, a second action
	// in any spelling).
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return false
	}
	actions, groups := 0, 0
	for k, vs := range q {
		switch {
		case strings.EqualFold(k, "action"):
			actions += len(vs)
		case strings.EqualFold(k, "group"):
			groups += len(vs)
		}
	}
	if actions != 1 || q.Get("action") != "list" || groups != 1 || len(q["group"]) != 1 {
		return false // without a group, the list is every group, admins' included
	}
	for _, g := range strings.Split(q.Get("group"), ",") {
		if !operatorParamGroup(g) {
			return false
		}
	}
	return true
}

// operatorParamGroup reports whether an operator may list the param.cgi group (or
// parameter) g. The device takes an optional "root." prefix and reads a bare "root" as
// the whole tree (reference/vapix.md 5.1), and its idea of case or of odd names is not
// ours to guess: so g must be a plain dotted name (ASCII letters, digits and '_' between
// the dots, no empty part, no wildcard, no space), after at most one "root." in any
// case, and its top-level group, in any case, must be neither root nor one of
// adminParamGroups.
func operatorParamGroup(g string) bool {
	if len(g) >= 5 && strings.EqualFold(g[:5], "root.") {
		g = g[5:]
	}
	parts := strings.Split(g, ".")
	for _, part := range parts {
		if part == "" || strings.TrimLeft(part, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return false
		}
	}
	top := strings.ToLower(parts[0])
	return top != "root" && !adminParamGroups[top]
}

// streams bounds the EdgeLink requests in flight per agent.
type streams struct {
	mu  sync.Mutex
	per map[string]int
}

func (s *streams) acquire(agent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.per == nil {
		s.per = map[string]int{}
	}
	if s.per[agent] >= maxAgentStreams {
		return false
	}
	s.per[agent]++
	return true
}

func (s *streams) release(agent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.per[agent]--; s.per[agent] <= 0 {
		delete(s.per, agent)
	}
}

// vapix is EdgeLink ingress: an authorized caller's request to a device's VAPIX goes over
// a new stream of the agent link to the agent that manages the device, which sends it on
// with its own credentials. Bodies stream both ways; WebSocket upgrades pass through.
func (a *API) vapix(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	serial := r.PathValue("serial")
	escaped, path, err := edgeLinkPath(r, vapixPattern)
	if err != nil {
		return err
	}
	if !p.Role.AtLeast(role.Admin) && !operatorMay(r, path) {
		return problem.Newf(problem.Forbidden, "%s %s on a device needs the admin role; operators may read the device, take snapshots, move PTZ and follow events", r.Method, "/"+path)
	}
	d, err := a.store.DeviceRoute(r.Context(), p.Org, serial)
	if err != nil {
		return err
	}
	agent := d.Agent()
	if agent == "" {
		return problem.New(problem.Conflict, "no agent manages this device (light integration); EdgeLink reaches devices through their agent")
	}
	return a.forward(w, r, agent, linkapi.EdgeLinkPrefix+d.Serial+"/vapix/"+escaped, nil)
}

// edgeLinkPath is the path an EdgeLink call names on its target (the {path...} of
// pattern), both as the caller escaped it and decoded, checked by the rule the agent
// applies too (linkapi.CheckSubPath). It is cut from the escaped form, since r.PathValue
// decodes an encoded slash into a separator that neither the caller nor the check saw.
func edgeLinkPath(r *http.Request, pattern string) (escaped, decoded string, err error) {
	before := strings.Count(pattern[:strings.Index(pattern, "{path...}")], "/")
	segs := strings.SplitN(r.URL.EscapedPath(), "/", before+1)
	if len(segs) == before+1 {
		escaped = segs[before]
	}
	decoded, err = linkapi.CheckSubPath(escaped)
	if err != nil {
		return "", "", problem.New(problem.PathRefused, err.Error())
	}
	return escaped, decoded, nil
}

// graphql is EdgeLink to an edge host's own GraphQL API; the caller's role goes with
// the request, so that the agent allows mutations to admins only.
func (a *API) graphql(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	h, err := a.store.EdgeHost(r.Context(), p.Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.forward(w, r, h.ID, linkapi.GraphQLPath, func(hd http.Header) {
		hd.Set(linkapi.RoleHeader, p.Role.String())
	})
}

// auditTarget is the device (if any) and the path of an EdgeLink call, as the audit log
// shows them: the VAPIX path, /vms/{name}/{path}, or graphql.
func auditTarget(r *http.Request) (serial, path string) {
	switch {
	case r.PathValue("serial") != "":
		return strings.ToUpper(r.PathValue("serial")), "/" + r.PathValue("path")
	case r.PathValue("name") != "":
		return "", "/vms/" + r.PathValue("name") + "/" + r.PathValue("path")
	}
	return "", "graphql"
}

// auditRefusal records an EdgeLink call the relay answered itself with err (a role
// too low, an unknown device, no agent, too many calls in flight). Only calls of members
// of the organization are recorded: neither anonymous callers nor other organizations'
// members can write to an organization's audit log.
func (a *API) auditRefusal(r *http.Request, err error) {
	p := PrincipalFrom(r.Context())
	if a.cfg.Audit == nil || p == nil || p.Org == "" || p.Org != r.PathValue("org") {
		return
	}
	var pb *problem.Problem
	if !errors.As(err, &pb) {
		pb = storeProblem(err)
	}
	serial, path := auditTarget(r)
	a.cfg.Audit.Record(store.AuditEntry{At: time.Now().UTC(), Org: p.Org, Principal: p.Subject(), Action: "edgelink", Serial: serial,
		Method: r.Method, Path: path, Status: pb.Status})
}

// forward sends a request over a new stream of the agent link to outPath (escaped) at the agent
// and streams the answer back, within the agent's limit of streams in flight, and
// records the call in the audit log (serial and path as the caller named them), also
// when the answer breaks off half way.
func (a *API) forward(w http.ResponseWriter, r *http.Request, agent, outPath string, header func(http.Header)) error {
	p := PrincipalFrom(r.Context())
	if a.cfg.Agents == nil {
		return problem.New(problem.AgentOffline, "this relay does not reach agents")
	}
	if !a.streams.acquire(agent) {
		w.Header().Set("Retry-After", "1")
		return problem.Newf(problem.Unavailable, "too many EdgeLink requests in flight to agent %s; try again", agent)
	}
	defer a.streams.release(agent)
	unescaped, err := url.PathUnescape(outPath)
	if err != nil {
		return problem.New(problem.PathRefused, "the path has a bad percent-encoding")
	}

	start := time.Now()
	status := 0
	cw := &countingWriter{ResponseWriter: w}
	if a.cfg.Audit != nil {
		serial, path := auditTarget(r)
		// Deferred: ReverseProxy panics with http.ErrAbortHandler when a streamed answer
		// breaks off (the caller left, the link dropped), and those calls count too.
		defer func() {
			a.cfg.Audit.Record(store.AuditEntry{At: start.UTC(), Org: p.Org, Principal: p.Subject(), Action: "edgelink", Serial: serial,
				Method: r.Method, Path: path, Status: status, Bytes: cw.n, Duration: time.Since(start)})
		}()
	}
	rp := &httputil.ReverseProxy{
		// Answers of unknown length (event streams, MJPEG) are flushed as they come; sized
		// ones are copied in large buffers.
		Transport:  a.cfg.Agents,
		BufferPool: proxyBuffers{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", edgelink.AgentHost(agent)
			// outPath is escaped as the caller sent it: the agent checks that form again.
			pr.Out.URL.Path, pr.Out.URL.RawPath = unescaped, outPath
			pr.Out.URL.RawQuery = r.URL.RawQuery
			pr.Out.Host = ""
			// The caller's credentials are the relay's business, not the device's.
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del(linkapi.RoleHeader)
			if header != nil {
				header(pr.Out.Header)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			status = resp.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var pb *problem.Problem
			switch {
			case bodyTimedOut(r):
				pb = bodyTimeoutProblem(a.cfg.BodyTimeout)
			case errors.Is(err, edgelink.ErrAgentOffline):
				pb = problem.Newf(problem.AgentOffline, "agent %s is not connected", agent)
			case r.Context().Err() != nil:
				// The caller went away. Returning would finish the answer as an empty
				// 200; abort it, as ReverseProxy does when a body breaks off.
				status = 499
				panic(http.ErrAbortHandler)
			default:
				pb = problem.Newf(problem.AgentError, "the link to agent %s failed during the request: %v", agent, err)
			}
			status = pb.Status
			problem.Write(w, r, pb)
		},
	}
	rp.ServeHTTP(cw, r)
	return nil
}

// countingWriter counts the body bytes of an answer for the audit log. Unwrap lets
// http.ResponseController reach the connection's flusher and hijacker through it.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// auditLog is GET /audit: the organization's audit log, newest first.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "q", "serial", "principal", "action", "since", "until", "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	f := store.AuditFilter{Serial: q.Get("serial"), Principal: q.Get("principal"), Action: q.Get("action"), Text: strings.TrimSpace(q.Get("q"))}
	rfc3339 := func(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }
	if f.Since, _, err = queryValue(q, "since", rfc3339, "an RFC 3339 time"); err != nil {
		return err
	}
	if f.Until, _, err = queryValue(q, "until", rfc3339, "an RFC 3339 time"); err != nil {
		return err
	}
	if len(f.Text) > 200 {
		return problem.Invalid("q", "at most 200 bytes")
	}
	entries, next, err := a.store.Audit(r.Context(), PrincipalFrom(r.Context()).Org, f, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]auditView, 0, len(entries))
	names := a.people()
	for _, e := range entries {
		out = append(out, auditView{At: e.At, Principal: e.Principal, Action: e.Action, Serial: e.Serial, Method: e.Method, Path: e.Path,
			Status: e.Status, Bytes: e.Bytes, Duration: int64(e.Duration), Source: e.Source, Detail: e.Detail,
			PrincipalEmail: names.email(r.Context(), e.Principal)})
	}
	page := listOf(out)
	page.NextCursor = next
	return writeJSON(w, http.StatusOK, page)
}

// auditView is an audit entry as the API answers it (api/openapi.yaml, GET /audit).
type auditView struct {
	At        time.Time `json:"at"`
	Principal string    `json:"principal"`
	Action    string    `json:"action"`
	Serial    string    `json:"serial,omitempty"`
	Method    string    `json:"method,omitempty"`
	Path      string    `json:"path,omitempty"`
	Status    int       `json:"status"`
	Bytes     int64     `json:"bytes,omitempty"`
	Duration  int64     `json:"duration"` // nanoseconds
	Source    string    `json:"source,omitempty"`
	Detail    string    `json:"detail,omitempty"`

	// PrincipalEmail names the person (not an application or an agent) while their
	// account exists.
	PrincipalEmail string `json:"principalEmail,omitempty"`
}

// proxyBuffers are the copy buffers of EdgeLink's proxy: large, for firmware and
// recordings, and reused.
type proxyBuffers struct{}

var proxyBufferPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (proxyBuffers) Get() []byte  { return *proxyBufferPool.Get().(*[]byte) }
func (proxyBuffers) Put(b []byte) { proxyBufferPool.Put(&b) }
