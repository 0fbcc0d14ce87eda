// Package api is the relay's public HTTP API under /api/v1, with /healthz and /metrics:
// the router built from one permission table (routes.go), authentication of bearer
// tokens, authorization against the caller's organization and role, strict JSON
// decoding and RFC 9457 problem answers.
//
// Every route is in the table with its access level and minimum role; the router, the
// route-matrix test and the OpenAPI agreement test all read that table. A resource of an
// organization the caller does not belong to answers 404, never 403.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/modelcatalog"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// Config is what the API needs. Zero durations mean the documented defaults.
type Config struct {
	Store *store.Store // required
	CA    *pki.CA      // signs agent certificates at enrollment; nil: enrollment answers 503
	// AgentLink upgrades an authenticated agent's request to its link (the WebSocket of
	// pkg/edgelink); PrincipalFrom(r.Context()) names the agent. nil answers 503.
	AgentLink http.Handler
	Hasher    *auth.Hasher // nil: auth.NewHasher(auth.DefaultParams, 0)
	Logger    *slog.Logger // nil: discard
	// Registry receives the HTTP metrics and is served on /metrics; nil: a new registry
	// with the Go and process collectors.
	Registry *prometheus.Registry
	// Agents reaches agents over their links (edgelink.Relay.Transport): requests to
	// http://<agentID>.agent/... nil: calls that need an agent answer 503.
	Agents http.RoundTripper
	// Links ends the live links of agents that are deleted (an edge host, a device
	// with its own agent, an organization); nil: there are none to end.
	Links interface {
		Disconnect(agentID string)
		DisconnectOrg(org string)
	}
	// Releases is the software catalog; nil: release routes answer 503.
	Releases *releasefiles.Catalog
	// Tasks is told when there is work for the task manager (a job created or cancelled).
	Tasks interface{ Wake() }
	// Audit records calls for the audit log (EdgeLink); nil: not recorded.
	Audit interface{ Record(store.AuditEntry) }
	// Catalog gives the static facts of device models; nil: the built-in catalog.
	Catalog *modelcatalog.Catalog
	// ICE hands out STUN/TURN servers with short-lived credentials
	// (GET .../ice-servers); nil: the list is empty.
	ICE ICEProvider
	// Ready tells /healthz whether to answer 200; nil: always ready.
	Ready func() bool

	UserTokenTTL   time.Duration // lifetime of a person's bearer token; 0: 12h
	ClientTokenTTL time.Duration // lifetime of an application's bearer token; 0: 1h
	InvitationTTL  time.Duration // default lifetime of an invitation code; 0: 7 days
	EnrollmentTTL  time.Duration // default lifetime of an enrollment token; 0: 24h
	MaxBodyBytes   int64         // largest accepted request body; 0: 1 MiB
	// BodyTimeout is how long the relay waits for each 16 KiB of a request body (or its
	// end) before answering 408 and closing the connection; 0: DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// DefaultBodyTimeout is Config.BodyTimeout's default.
const DefaultBodyTimeout = 20 * time.Second

// Limits on what a caller may ask for.
const (
	maxInvitationTTL = 30 * 24 * time.Hour
	maxEnrollmentTTL = 7 * 24 * time.Hour
	defaultPageSize  = 100
	maxPageSize      = 1000
	// maxDevicePageSize is the device list's largest page: a whole inventory of 10,000
	// in one request, so that the console has every device after one round trip.
	maxDevicePageSize = 10000
)

// API serves the relay's HTTP API. Build it with New; it is an http.Handler.
type API struct {
	cfg     Config
	store   *store.Store
	hasher  *auth.Hasher
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *httpMetrics
	reg     *prometheus.Registry
	handler http.Handler

	challenges *challenges   // device enrollment nonces
	signin     *signinLimits // failed sign-ins per account and per address
	proofs     *proofLimits  // failed device ownership proofs per caller and per address
	streams    streams       // EdgeLink requests in flight per agent
}

// New validates cfg and builds the router.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("api: Config.Store is required"))
	}
	for name, d := range map[string]time.Duration{
		"UserTokenTTL": cfg.UserTokenTTL, "ClientTokenTTL": cfg.ClientTokenTTL,
		"InvitationTTL": cfg.InvitationTTL, "EnrollmentTTL": cfg.EnrollmentTTL, "BodyTimeout": cfg.BodyTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("api: Config.%s is negative", name))
		}
	}
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("api: Config.MaxBodyBytes is negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.UserTokenTTL = orDefault(cfg.UserTokenTTL, 12*time.Hour)
	cfg.ClientTokenTTL = orDefault(cfg.ClientTokenTTL, time.Hour)
	cfg.InvitationTTL = orDefault(cfg.InvitationTTL, 7*24*time.Hour)
	cfg.EnrollmentTTL = orDefault(cfg.EnrollmentTTL, 24*time.Hour)
	cfg.BodyTimeout = orDefault(cfg.BodyTimeout, DefaultBodyTimeout)
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Hasher == nil {
		cfg.Hasher = auth.NewHasher(auth.DefaultParams, 0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Catalog == nil {
		cfg.Catalog = modelcatalog.Builtin()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &API{
		cfg: cfg, store: cfg.Store, hasher: cfg.Hasher, reg: cfg.Registry,
		log: cfg.Logger.With("component", "api"),
		mux: http.NewServeMux(),

		challenges: newChallenges(),
		signin:     newSigninLimits(cfg.Store.Now),
		proofs:     newProofLimits(cfg.Store.Now),
	}
	m, err := newHTTPMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	a.metrics = m
	for _, rt := range table {
		a.mux.Handle(rt.Method+" "+rt.Pattern, a.route(rt))
	}
	a.handler = a.withRequestID(a.withRecover(a.withObservability(a.withBodyDeadline(http.HandlerFunc(a.dispatch)))))
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// dispatch finds the route. Unknown paths and methods answer problems rather than the
// mux's plain text, so every error of the API has one form.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	probe := &headerCapture{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		problem.Write(w, r, problem.Newf(problem.MethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, probe.header.Get("Allow")))
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		a.mux.ServeHTTP(w, r)
	default:
		problem.Write(w, r, problem.New(problem.NotFound, "no such resource"))
	}
}

// headerCapture records what the mux's own not-found or method-not-allowed handler
// would answer, without sending it.
type headerCapture struct {
	header http.Header
	status int
}

func (c *headerCapture) Header() http.Header         { return c.header }
func (c *headerCapture) Write(b []byte) (int, error) { return len(b), nil }
func (c *headerCapture) WriteHeader(status int)      { c.status = status }

// route wraps a table entry's handler with its authentication, authorization and body
// limit, and translates the error it returns.
func (a *API) route(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.SecretPath {
			if info := infoFrom(r.Context()); info != nil {
				info.secretPath = true
			}
		}
		if rt.CORS {
			whepCORS(w.Header())
		}
		limit := a.cfg.MaxBodyBytes
		if rt.MaxBody != 0 {
			limit = rt.MaxBody
		}
		if limit > 0 { // streamed routes (EdgeLink) take bodies of any size
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		r, err := a.authorize(r, rt)
		if err == nil {
			err = rt.handle(a, w, r)
		}
		if err != nil {
			if rt.EdgeLink {
				a.auditRefusal(r, err)
			}
			a.fail(w, r, err)
		}
	})
}

// fail is the one place errors become problem answers.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *problem.Problem
	if bodyTimedOut(r) {
		// Whatever the handler made of the broken body, the caller was too slow.
		p = bodyTimeoutProblem(a.cfg.BodyTimeout)
	} else if !errors.As(err, &p) {
		p = storeProblem(err)
	}
	if p.Status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "req", w.Header().Get(problem.RequestIDHeader), "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="camcloud"`)
	}
	problem.Write(w, r, p)
}

// storeProblem maps store errors to the catalogue; anything else is an internal error
// whose text stays in the log.
func storeProblem(err error) *problem.Problem {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem.New(problem.NotFound, "no such resource")
	case errors.Is(err, store.ErrExists):
		return problem.New(problem.Conflict, "it already exists")
	case errors.Is(err, store.ErrLastAdmin):
		return problem.New(problem.LastAdmin, "an organization must keep at least one admin")
	case errors.Is(err, store.ErrClaimedElsewhere):
		return problem.New(problem.DeviceClaimed, "another organization proved this device is its own; it must be removed there before it can be added here")
	case errors.Is(err, store.ErrOAKMismatch):
		return problem.New(problem.OAKMismatch, "this is not the device's owner authentication key (printed on its label and box)")
	case errors.Is(err, store.ErrBadSerial):
		return problem.Invalid("serial", "must be 12 hexadecimal digits")
	case errors.Is(err, store.ErrNoSuchGroup):
		return problem.Invalid("group", "no such resource group in this organization")
	case errors.Is(err, store.ErrBadCursor):
		return problem.Invalid("cursor", "not a cursor from a previous page")
	case errors.Is(err, store.ErrBadEmail):
		return problem.Invalid("email", "not an e-mail address")
	case errors.Is(err, store.ErrEnrollmentTokenUnknown):
		return problem.New(problem.EnrollmentTokenUnknown, "this enrollment token was never issued, or its edge host was deleted")
	case errors.Is(err, store.ErrEnrollmentTokenUsed):
		return problem.New(problem.EnrollmentTokenUsed, "this enrollment token was already used; an admin can create a new edge host")
	case errors.Is(err, store.ErrEnrollmentTokenExpired):
		return problem.New(problem.EnrollmentTokenExpired, "this enrollment token has expired; an admin can create a new edge host")
	case errors.Is(err, store.ErrProfileInUse):
		return problem.New(problem.ProfileInUse, "devices follow this profile; give them another one first")
	case errors.Is(err, store.ErrProof):
		return problem.New(problem.ProofRejected, "the proof does not match the owner authentication key the device was claimed with")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem.New(problem.Unavailable, "the request was cancelled")
	}
	return problem.New(problem.Internal, "the relay failed to handle the request; quote the request ID when reporting it")
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Ready != nil && !a.cfg.Ready() {
		return problem.New(problem.Unavailable, "the relay is not ready")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
