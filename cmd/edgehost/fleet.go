package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/agentcmd"
	"github.com/opencamcloud/camcloud/internal/agent/allownet"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/graph"
	"github.com/opencamcloud/camcloud/internal/agent/live"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/pkg/discovery"
)

// graphTokenFile, in the data directory, is the bearer token of the local GraphQL API.
const graphTokenFile = "graphql-token"

// fleetSetup is `edgehost run`'s own part: the flags that say how the edge host finds
// cameras, and the discovery watcher, fleet manager, EdgeLink egress and GraphQL API it
// makes from them.
type fleetSetup struct {
	mdnsIfaces    []string
	noMDNS        bool
	sweep         time.Duration
	addrs         []string
	scans         []string
	scanPorts     []int
	account       string
	taskLimit     int
	edgeLinkLimit int
	graphListen   string
	rebootWait    time.Duration
	allowNets     []string
	live          live.Flags
}

// AddFlags adds edgehost's flags to `run`.
func (s *fleetSetup) AddFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&s.mdnsIfaces, "mdns-interface", nil, "interface to browse mDNS on (repeatable; default: every interface that is up with multicast, loopback excepted)")
	f.BoolVar(&s.noMDNS, "no-mdns", false, "do not browse mDNS (use --add and --scan where multicast is blocked)")
	f.DurationVar(&s.sweep, "mdns-interval", 10*time.Second, "how often mDNS browsing is repeated")
	f.StringSliceVar(&s.addrs, "add", nil, "address (host:port) of a camera to manage beside those found (repeatable)")
	f.StringSliceVar(&s.scans, "scan", nil, "address range (CIDR, at most /16) to probe for cameras at start (repeatable)")
	f.IntSliceVar(&s.scanPorts, "scan-port", []int{80}, "HTTP ports --scan probes")
	f.StringVar(&s.account, "device-account", "camcloud", "name of the VAPIX account the agent creates on each camera it onboards")
	f.IntVar(&s.taskLimit, "task-concurrency", 16, "tasks (upgrades, settings) run at once across cameras; one at a time per camera")
	f.DurationVar(&s.rebootWait, "reboot-wait", 5*time.Minute, "how long to wait for a camera to come back from a reboot")
	f.StringVar(&s.graphListen, "graphql-listen", "", "also serve the edge host's GraphQL API on this address for an on-premise VMS (e.g. 127.0.0.1:8791); callers send the token in DATA/graphql-token as a bearer token")
	f.IntVar(&s.edgeLinkLimit, "edgelink-concurrency", 256, "EdgeLink requests to cameras in flight at once (more wait up to 2 s, then 503)")
	s.live.AddFlags(f)
	f.StringSliceVar(&s.allowNets, allownet.Flag, nil, "networks (CIDR or address, comma-separated or repeated) that cameras and VMS servers may be at; the edge host connects to nothing else (default: the networks of its own interfaces, without loopback and link-local)")
}

// edgeFleet is what an edge host runs beside its link: discovery, the fleet of cameras,
// the cameras given by address or range, and the local GraphQL API.
type edgeFleet struct {
	st       *devstore.Store
	watcher  *discovery.Watcher
	fleet    *fleet.Manager
	proxy    *egress.Proxy
	live     *live.Service
	local    *localAPI // nil without --graphql-listen
	addrs    []string
	prefixes []netip.Prefix
	ports    []int
	sweep    time.Duration
	log      *slog.Logger
}

// New checks the flags, opens the device store and makes the edge host's parts, filling
// in cfg's fleet, EdgeLink, VMS egress and GraphQL API.
func (s *fleetSetup) New(_ context.Context, dataDir string, cfg *agent.Config) (agentcmd.Devices, error) {
	var prefixes []netip.Prefix
	for _, sc := range s.scans {
		p, err := netip.ParsePrefix(sc)
		if err != nil {
			return nil, fmt.Errorf("--scan %q: %w", sc, err)
		}
		prefixes = append(prefixes, p)
	}
	nets, err := allowedNets(s.allowNets)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("cameras and VMS servers are reached in these networks only", "networks", nets.String(), "flag", "--"+allownet.Flag)
	ifaces, err := mdnsInterfaces(s.mdnsIfaces, s.noMDNS)
	if err != nil {
		return nil, err
	}
	st, err := devstore.OpenDir(dataDir)
	if err != nil {
		return nil, err
	}
	e := &edgeFleet{st: st, addrs: s.addrs, prefixes: prefixes, ports: s.scanPorts, sweep: s.sweep, log: cfg.Logger}
	if err := s.open(e, dataDir, nets, ifaces, cfg); err != nil {
		st.Close()
		return nil, err
	}
	return e, nil
}

func (s *fleetSetup) open(e *edgeFleet, dataDir string, nets *allownet.Nets, ifaces []net.Interface, cfg *agent.Config) error {
	log := cfg.Logger
	// A discovery event goes to the fleet manager, which reports the discoveries to the
	// relay; the watcher is made first since the manager finds devices through it.
	var err error
	e.watcher, err = discovery.New(discovery.Config{
		Interfaces: ifaces, DisableMDNS: s.noMDNS, SweepInterval: s.sweep, Logger: log, DialControl: nets.Control,
		OnEvent: e.discovered,
	})
	if err != nil {
		return err
	}
	fcfg := fleet.Config{Store: e.st, Finder: e.watcher, Account: s.account, Logger: log, TaskConcurrency: s.taskLimit, RebootWait: s.rebootWait, DialControl: nets.Control}
	fcfg.InDataDir(dataDir)
	if e.fleet, err = fleet.New(fcfg); err != nil {
		return err
	}
	if e.proxy, err = egress.New(egress.Config{Devices: e.fleet, MaxConcurrent: s.edgeLinkLimit, Logger: log, DialControl: nets.Control}); err != nil {
		return err
	}
	lcfg := s.live.Config(e.fleet, log)
	lcfg.DialControl = nets.Control
	if e.live, err = live.New(lcfg); err != nil {
		e.proxy.Close()
		return err
	}
	vms := egress.NewVMS(log, nets.Control)
	api, err := graph.Handler(graph.Config{Fleet: e.fleet, Agent: graph.Agent{ID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Version: buildinfo.String()}})
	if err != nil {
		e.proxy.Close()
		_ = e.live.Close()
		return err
	}
	if s.graphListen != "" {
		if e.local, err = listenLocalAPI(s.graphListen, filepath.Join(dataDir, graphTokenFile), api); err != nil {
			e.proxy.Close()
			_ = e.live.Close()
			return err
		}
		log.Info("GraphQL API served locally", "url", "http://"+e.local.addr()+"/graphql", "token", filepath.Join(dataDir, graphTokenFile))
	}
	cfg.Fleet, cfg.EdgeLink, cfg.VMS, cfg.SetVMS, cfg.GraphQL, cfg.Live = e.fleet, e.proxy, vms, vms.SetServers, api, e.live
	return nil
}

// discovered passes a discovery event to the fleet manager. Events come only from the
// watcher's Run, which starts after New has made the manager.
func (e *edgeFleet) discovered(ev discovery.Event) { e.fleet.OnDiscovery(ev) }

// Run runs discovery, the fleet, the local API, and the --add and --scan look-ups until
// ctx ends.
func (e *edgeFleet) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.watcher.Run(ctx) })
	g.Go(func() error { return e.fleet.Run(ctx) })
	if e.local != nil {
		g.Go(func() error { return e.local.serve(ctx) })
	}
	g.Go(func() error { addAll(ctx, e.watcher, e.addrs, e.sweep, e.log); return nil })
	g.Go(func() error {
		for _, p := range e.prefixes {
			found, err := e.watcher.Scan(ctx, p, e.ports)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("--scan", "range", p, "err", err)
			}
			e.log.Info("scan done", "range", p, "cameras", len(found))
		}
		return nil
	})
	return g.Wait()
}

// Close lets go of the cameras' connections, the local API's listener (when Run never
// served it) and the device store.
func (e *edgeFleet) Close() error {
	_ = e.live.Close()
	e.proxy.Close()
	if e.local != nil {
		_ = e.local.ln.Close() // already closed when it was served
	}
	if err := e.st.Close(); err != nil {
		return fmt.Errorf("device store: %w", err)
	}
	return nil
}

// allowedNets resolves --allow-device-net: the networks given, else those of the host's
// own interfaces (allownet.Local).
func allowedNets(specs []string) (*allownet.Nets, error) {
	if len(specs) == 0 {
		return allownet.Local()
	}
	return allownet.Parse(specs)
}

// mdnsInterfaces resolves --mdns-interface: the named interfaces, else every interface
// that is up with multicast (loopback excepted), else loopback.
func mdnsInterfaces(names []string, off bool) ([]net.Interface, error) {
	if off {
		return nil, nil
	}
	var out []net.Interface
	for _, n := range names {
		i, err := net.InterfaceByName(n)
		if err != nil {
			return nil, fmt.Errorf("--mdns-interface %s: %w", n, err)
		}
		if i.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("--mdns-interface %s: multicast is off on it (ip link set %s multicast on)", n, n)
		}
		out = append(out, *i)
	}
	if len(out) > 0 {
		return out, nil
	}
	all, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 && i.Flags&net.FlagLoopback == 0 {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no interface to browse mDNS on: name one with --mdns-interface, or use --no-mdns")
	}
	return out, nil
}

// addAll adds cameras given by address; one that does not answer (off, rebooting) is
// tried again every interval until it does or ctx ends. Only a camera that answers as
// something else (not an Axis device) is given up on.
func addAll(ctx context.Context, w *discovery.Watcher, addrs []string, interval time.Duration, log *slog.Logger) {
	pending := addrs
	for len(pending) > 0 {
		var again []string
		for _, a := range pending {
			_, err := w.Add(ctx, a)
			switch {
			case err == nil, ctx.Err() != nil:
			case errors.Is(err, discovery.ErrNoAnswer):
				again = append(again, a)
			default:
				log.Warn("--add: not added", "address", a, "err", err)
			}
		}
		if len(again) == 0 {
			return
		}
		log.Info("--add: cameras not answering yet; trying again", "addresses", again, "in", interval)
		pending = again
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
