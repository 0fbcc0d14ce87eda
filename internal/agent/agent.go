// Package agent runs an enrolled agent (edge host or on-device): it keeps the agent link
// to the relay up and serves the agent's own HTTP API on the streams the relay opens.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/internal/agent/graph"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

// LinkPath is where the relay accepts agent links.
const LinkPath = "/api/v1/agent/link"

// Config is what Run needs.
type Config struct {
	Identity *identity.Identity // required
	Kind     string             // "edgehost" or "devicehost", reported in /v1/status
	// OnState is told when the link goes up or down (nil: only logged).
	OnState func(edgelink.Status)
	// Inventory, when set, lists the devices this agent manages with their current
	// state; it is reported to the relay whenever the link comes up and every
	// ReportEvery while it stays up.
	Inventory func(ctx context.Context) ([]linkapi.DeviceReport, error)
	// Fleet, when set, is an edge host's devices: it also takes the relay's device
	// configuration and onboarding requests, and reports discoveries and tasks. It
	// replaces Inventory.
	Fleet Fleet
	// EdgeLink, when set, serves the relay's EdgeLink requests to devices (package
	// egress), under /v1/devices/.
	EdgeLink http.Handler
	// VMS, when set, serves EdgeLink requests to the VMS servers an admin registered
	// (under /v1/vms/); SetVMS is given their list at every full report.
	VMS    http.Handler
	SetVMS func([]linkapi.VMSServer)
	// GraphQL, when set, is the agent's own API (package graph), at /v1/graphql; the
	// relay's role header says whether the caller may make mutations.
	GraphQL http.Handler
	// Live, when set, serves live video sessions (WHEP, package live) under
	// /v1/whep/.
	Live        http.Handler
	ReportEvery time.Duration // 0: 10 minutes
	// CheckEvery is how often an edge host asks the relay to bring its managed devices to
	// their profiles (new releases, changed profiles); 0: 2 hours. It also asks after
	// onboarding.
	CheckEvery time.Duration
	Logger     *slog.Logger // nil: discard
}

// Fleet is what an edge host manages (a *fleet.Manager).
type Fleet interface {
	Inventory(ctx context.Context) ([]linkapi.DeviceReport, error)
	Discovered() []linkapi.DiscoveredDevice
	// DiscoveryChanged reports (and forgets) whether discoveries changed since it was
	// last asked.
	DiscoveryChanged() bool
	PendingTasks() ([]linkapi.TaskReport, error)
	TasksReported([]linkapi.TaskReport) error
	ApplyConfig([]linkapi.DeviceConfig)
	Onboard(context.Context, linkapi.OnboardRequest) (linkapi.OnboardResponse, error)
	// Forget stops managing devices the relay says are no longer this agent's.
	Forget(ctx context.Context, serials []string) error
	// RunTasks journals tasks from the task manager; CancelTasks cancels them.
	RunTasks([]taskengine.Task) ([]taskengine.Record, error)
	CancelTasks(ids []string) error
	// UseRelay gives the fleet the link's client to the relay (release files).
	UseRelay(*http.Client)
	// Changed is signalled when there are new task states or discoveries to report;
	// InventoryChanged when the set of managed devices changed (one was onboarded and
	// the relay acknowledged the success, or one was forgotten).
	Changed() <-chan struct{}
	InventoryChanged() <-chan struct{}
}

// Run keeps the link to the relay until ctx is done, reconnecting with backoff.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Identity == nil {
		return errors.New("agent: Config.Identity is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	id := cfg.Identity
	cert, err := id.TLSCertificate()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(id.CAPEM) {
		return errors.New("agent: no CA certificate in the identity")
	}
	linkURL, err := linkURL(id.Relay)
	if err != nil {
		return err
	}
	up := make(chan struct{}, 1) // a link came up; buffered so OnState never waits
	a, err := edgelink.NewAgent(edgelink.AgentConfig{
		RelayURL:  linkURL,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
		Handler:   handler(cfg),
		OnState: func(s edgelink.Status) {
			cfg.Logger.Info("relay link", "state", s.State.String())
			if s.State == edgelink.StateConnected {
				select {
				case up <- struct{}{}:
				default:
				}
			}
			if cfg.OnState != nil {
				cfg.OnState(s)
			}
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if cfg.Fleet != nil {
		cfg.Inventory = cfg.Fleet.Inventory
		cfg.Fleet.UseRelay(a.Client())
	}
	if cfg.Inventory == nil {
		return a.Run(ctx)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(ctx) })
	g.Go(func() error { reportLoop(ctx, cfg, a.Client(), up); return nil })
	return g.Wait()
}

// reportLoop sends the inventory when a link comes up and periodically; a failed report
// waits for the next occasion (the relay also learns link state by itself).
func reportLoop(ctx context.Context, cfg Config, hc *http.Client, up <-chan struct{}) {
	every := cfg.ReportEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var changed, inventory <-chan struct{}
	var check <-chan time.Time   // the profile check's ticker; nil (never) without a fleet
	checkDue := cfg.Fleet != nil // once the first report is in
	if cfg.Fleet != nil {
		changed, inventory = cfg.Fleet.Changed(), cfg.Fleet.InventoryChanged()
		every := cfg.CheckEvery
		if every <= 0 {
			every = 2 * time.Hour
		}
		ct := time.NewTicker(every)
		defer ct.Stop()
		check = ct.C
	}
	for {
		full := true
		select {
		case <-ctx.Done():
			return
		case <-up:
		case <-t.C:
		case <-inventory:
			checkDue = true // a device was onboarded: its profile applies now
		case <-check:
			checkDue = true
		case <-changed:
			full = false // task states and discoveries only: polling every device is for the above
		}
		err := syncRelay(ctx, cfg, hc, full)
		if err == nil && full && checkDue {
			var res struct {
				Job   string `json:"job"`
				Tasks int    `json:"tasks"`
			}
			if err = call(ctx, hc, http.MethodPost, linkapi.ProfileCheckPath, struct{}{}, &res); err == nil {
				checkDue = false
				if res.Tasks > 0 {
					cfg.Logger.Info("devices brought to their profiles", "job", res.Job, "tasks", res.Tasks)
				}
			}
		}
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, edgelink.ErrNotConnected):
			// A change while the link is down: the link coming up reports it.
			cfg.Logger.Debug("report to the relay deferred until the link is up", "err", err)
		default:
			cfg.Logger.Warn("report to the relay", "err", err)
		}
	}
}

// Bounds of the work of one report: each call to the relay, and reading the devices'
// state. Each call has its own, so that a slow inventory leaves the report sent after it
// the time it needs.
const (
	relayCallTimeout = 60 * time.Second
	inventoryTimeout = 60 * time.Second
)

// syncRelay brings the relay up to date: an edge host first takes the relay's configuration
// of its devices, then reports their state (full), its discoveries and its tasks.
func syncRelay(ctx context.Context, cfg Config, hc *http.Client, full bool) error {
	f := cfg.Fleet
	if f != nil && full {
		var configs []linkapi.DeviceConfig
		if err := call(ctx, hc, http.MethodGet, linkapi.ConfigPath, nil, &configs); err != nil {
			return fmt.Errorf("device configuration: %w", err)
		}
		f.ApplyConfig(configs)
	}
	if cfg.SetVMS != nil && full {
		var vms []linkapi.VMSServer
		if err := call(ctx, hc, http.MethodGet, linkapi.VMSListPath, nil, &vms); err != nil {
			return fmt.Errorf("VMS servers: %w", err)
		}
		cfg.SetVMS(vms)
	}
	if full {
		if err := report(ctx, cfg, hc); err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
	}
	if f == nil {
		return nil
	}
	if changed := f.DiscoveryChanged(); changed || full {
		if found := f.Discovered(); found != nil { // nil: this agent does not discover
			if err := call(ctx, hc, http.MethodPost, linkapi.DiscoveredPath, found, nil); err != nil {
				return fmt.Errorf("discovered devices: %w", err)
			}
		}
	}
	tasks, err := f.PendingTasks()
	if err != nil || len(tasks) == 0 {
		return err
	}
	if err := call(ctx, hc, http.MethodPost, linkapi.TasksPath, tasks, nil); err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	return f.TasksReported(tasks)
}

// call makes one JSON request to the relay over the link, bounded by relayCallTimeout.
func call(ctx context.Context, hc *http.Client, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, relayCallTimeout)
	defer cancel()
	return linkapi.Call(ctx, hc, method, "http://relay"+path, in, out)
}

// report reads the devices' state (within inventoryTimeout) and sends it.
func report(ctx context.Context, cfg Config, hc *http.Client) error {
	pollCtx, cancel := context.WithTimeout(ctx, inventoryTimeout)
	devices, err := cfg.Inventory(pollCtx)
	cancel()
	if err != nil {
		return err
	}
	var answer linkapi.InventoryAnswer
	if err := call(ctx, hc, http.MethodPost, linkapi.InventoryPath, devices, &answer); err != nil && !errors.Is(err, io.EOF) {
		return err // io.EOF: a relay that answers 204, without devices to forget
	}
	cfg.Logger.Debug("inventory reported", "devices", len(devices))
	if len(answer.Forget) > 0 && cfg.Fleet != nil {
		cfg.Logger.Info("the relay no longer has this agent manage devices: forgetting them", "serials", answer.Forget)
		return cfg.Fleet.Forget(ctx, answer.Forget)
	}
	return nil
}

// maxRelayBody bounds a request body from the relay (devices to onboard, tasks to run).
const maxRelayBody = 16 << 20

// linkURL turns the relay's https:// URL into the link's wss:// URL.
func linkURL(relay string) (string, error) {
	switch {
	case strings.HasPrefix(relay, "https://"):
		return "wss://" + strings.TrimPrefix(relay, "https://") + LinkPath, nil
	case strings.HasPrefix(relay, "http://"):
		return "ws://" + strings.TrimPrefix(relay, "http://") + LinkPath, nil
	}
	return "", fmt.Errorf("agent: relay URL %q: want https://host:port", relay)
}

// handler is the agent's API on the streams the relay opens.
func handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+linkapi.StatusPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(linkapi.Status{
			AgentID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Kind: cfg.Kind, Version: buildinfo.String(),
		})
	})
	if f := cfg.Fleet; f != nil {
		mux.HandleFunc("POST "+linkapi.OnboardPath, func(w http.ResponseWriter, r *http.Request) {
			var req linkapi.OnboardRequest
			if !linkapi.DecodeBody(w, r, maxRelayBody, &req) {
				return
			}
			resp, err := f.Onboard(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(resp)
		})
		mux.HandleFunc("POST "+linkapi.ForgetPath, func(w http.ResponseWriter, r *http.Request) {
			var req linkapi.ForgetRequest
			if !linkapi.DecodeBody(w, r, maxRelayBody, &req) {
				return
			}
			if err := f.Forget(r.Context(), req.Serials); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		mux.HandleFunc("POST "+linkapi.RunTasksPath, func(w http.ResponseWriter, r *http.Request) {
			var tasks []taskengine.Task
			if !linkapi.DecodeBody(w, r, maxRelayBody, &tasks) {
				return
			}
			recs, err := f.RunTasks(tasks)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(recs)
		})
		mux.HandleFunc("POST "+linkapi.CancelTasksPath, func(w http.ResponseWriter, r *http.Request) {
			var ids []string
			if !linkapi.DecodeBody(w, r, maxRelayBody, &ids) {
				return
			}
			if err := f.CancelTasks(ids); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	if g := cfg.GraphQL; g != nil {
		mux.HandleFunc("POST "+linkapi.GraphQLPath, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(linkapi.RoleHeader) == "admin" {
				r = r.WithContext(graph.WithAdmin(r.Context()))
			}
			g.ServeHTTP(w, r)
		})
	}
	if cfg.Live != nil {
		mux.Handle(linkapi.WHEPPrefix, cfg.Live)
	}
	if cfg.EdgeLink == nil && cfg.VMS == nil {
		return mux
	}
	// EdgeLink requests go straight to their handler, not through the mux, which would
	// redirect unclean paths before the handler could refuse them as such.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case cfg.EdgeLink != nil && strings.HasPrefix(r.URL.Path, linkapi.EdgeLinkPrefix):
			cfg.EdgeLink.ServeHTTP(w, r)
		case cfg.VMS != nil && strings.HasPrefix(r.URL.Path, linkapi.VMSPrefix):
			cfg.VMS.ServeHTTP(w, r)
		default:
			mux.ServeHTTP(w, r)
		}
	})
}
