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

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/allownet"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/graph"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/pkg/discovery"
)

// graphTokenFile, in the data directory, is the bearer token of the local GraphQL API.
const graphTokenFile = "graphql-token"

// fleetSetup adds the flags that say how the edge host finds cameras and starts the
// discovery watcher and the fleet manager under `edgehost run`.
func fleetSetup(cmd *cobra.Command) func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
	var (
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
	)
	f := cmd.Flags()
	f.StringSliceVar(&mdnsIfaces, "mdns-interface", nil, "interface to browse mDNS on (repeatable; default: every interface that is up with multicast, loopback excepted)")
	f.BoolVar(&noMDNS, "no-mdns", false, "do not browse mDNS (use --add and --scan where multicast is blocked)")
	f.DurationVar(&sweep, "mdns-interval", 10*time.Second, "how often mDNS browsing is repeated")
	f.StringSliceVar(&addrs, "add", nil, "address (host:port) of a camera to manage beside those found (repeatable)")
	f.StringSliceVar(&scans, "scan", nil, "address range (CIDR, at most /16) to probe for cameras at start (repeatable)")
	f.IntSliceVar(&scanPorts, "scan-port", []int{80}, "HTTP ports --scan probes")
	f.StringVar(&account, "device-account", "camcloud", "name of the VAPIX account the agent creates on each camera it onboards")
	f.IntVar(&taskLimit, "task-concurrency", 16, "tasks (upgrades, settings) run at once across cameras; one at a time per camera")
	f.DurationVar(&rebootWait, "reboot-wait", 5*time.Minute, "how long to wait for a camera to come back from a reboot")
	f.StringVar(&graphListen, "graphql-listen", "", "also serve the edge host's GraphQL API on this address for an on-premise VMS (e.g. 127.0.0.1:8791); callers send the token in DATA/graphql-token as a bearer token")
	f.IntVar(&edgeLinkLimit, "edgelink-concurrency", 256, "EdgeLink requests to cameras in flight at once (more wait up to 2 s, then 503)")
	f.StringSliceVar(&allowNets, allownet.Flag, nil, "networks (CIDR or address, comma-separated or repeated) that cameras and VMS servers may be at; the edge host connects to nothing else (default: the networks of its own interfaces, without loopback and link-local)")

	return func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
		var prefixes []netip.Prefix
		for _, s := range scans {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, nil, fmt.Errorf("--scan %q: %w", s, err)
			}
			prefixes = append(prefixes, p)
		}
		nets, err := allowedNets(allowNets)
		if err != nil {
			return nil, nil, err
		}
		cfg.Logger.Info("cameras and VMS servers are reached in these networks only", "networks", nets.String(), "flag", "--"+allownet.Flag)
		ifaces, err := mdnsInterfaces(mdnsIfaces, noMDNS)
		if err != nil {
			return nil, nil, err
		}
		st, err := devstore.OpenDir(dataDir)
		if err != nil {
			return nil, nil, err
		}
		log := cfg.Logger
		var mgr *fleet.Manager
		w, err := discovery.New(discovery.Config{
			Interfaces: ifaces, DisableMDNS: noMDNS, SweepInterval: sweep, Logger: log, DialControl: nets.Control,
			OnEvent: func(ev discovery.Event) {
				log.Debug("discovery", "event", ev.Kind, "serial", ev.Device.Serial, "address", ev.Device.Addr)
				if mgr != nil {
					mgr.Notify()
				}
			},
		})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		fcfg := fleet.Config{Store: st, Finder: w, Account: account, Logger: log, TaskConcurrency: taskLimit, RebootWait: rebootWait, DialControl: nets.Control}
		fcfg.InDataDir(dataDir)
		mgr, err = fleet.New(fcfg)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		cfg.Fleet = mgr
		proxy, err := egress.New(egress.Config{Devices: mgr, MaxConcurrent: edgeLinkLimit, Logger: log, DialControl: nets.Control})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		cfg.EdgeLink = proxy
		vms := egress.NewVMS(log, nets.Control)
		cfg.VMS, cfg.SetVMS = vms, vms.SetServers
		api, err := graph.Handler(graph.Config{Fleet: mgr, Agent: graph.Agent{ID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Version: buildinfo.String()}})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		cfg.GraphQL = api
		var local *localAPI
		if graphListen != "" {
			if local, err = listenLocalAPI(graphListen, filepath.Join(dataDir, graphTokenFile), api); err != nil {
				st.Close()
				return nil, nil, err
			}
			log.Info("GraphQL API served locally", "url", "http://"+local.addr()+"/graphql", "token", filepath.Join(dataDir, graphTokenFile))
		}
		run := func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return w.Run(ctx) })
			g.Go(func() error { return mgr.Run(ctx) })
			if local != nil {
				g.Go(func() error { return local.serve(ctx) })
			}
			g.Go(func() error { addAll(ctx, w, addrs, sweep, log); return nil })
			g.Go(func() error {
				for _, p := range prefixes {
					found, err := w.Scan(ctx, p, scanPorts)
					if err != nil && ctx.Err() == nil {
						log.Warn("--scan", "range", p, "err", err)
					}
					log.Info("scan done", "range", p, "cameras", len(found))
				}
				return nil
			})
			return g.Wait()
		}
		return run, func() { proxy.Close(); st.Close() }, nil
	}
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
