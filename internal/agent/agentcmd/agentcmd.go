// Package agentcmd holds the commands edgehost and devicehost share: run and status.
package agentcmd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/agentmetrics"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
)

// Setup is how a run command manages its devices: its flags, and what it makes once
// the agent's identity is loaded.
type Setup interface {
	// AddFlags adds the flags New reads.
	AddFlags(f *pflag.FlagSet)
	// New fills in cfg (Fleet, EdgeLink, GraphQL, ...) and returns what runs beside
	// the link; it is closed once the link is down.
	New(ctx context.Context, dataDir string, cfg *agent.Config) (Devices, error)
}

// Devices is what a Setup made: it runs beside the link until ctx ends (Run), and then
// lets go of what it holds (Close).
type Devices interface {
	Run(ctx context.Context) error
	Close() error
}

// Run is `KIND run`: keep the link to the relay up until stopped, with the devices setup
// (when not nil) manages.
func Run(kind, defaultData string, setup Setup) *cobra.Command {
	var dataDir, logLevel, metricsListen string
	var reportEvery, checkEvery time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Connect to the relay and serve it until stopped (Ctrl-C)",
		Long: `run keeps this agent's link to the relay up: one outbound WebSocket with mutual
TLS (the certificate from enroll), reconnecting with jittered exponential backoff when it
drops. Over it the agent reports its devices' state every --report-interval and whenever
something changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})).With("agent", id.AgentID)
			cfg := agent.Config{Identity: id, Kind: kind, Logger: log, ReportEvery: reportEvery, CheckEvery: checkEvery}
			var devices Devices
			if setup != nil {
				if devices, err = setup.New(cmd.Context(), dataDir, &cfg); err != nil {
					return err
				}
				defer func() {
					if err := devices.Close(); err != nil {
						log.Warn("closing the devices' store", "err", err)
					}
				}()
			}
			g, ctx := errgroup.WithContext(cmd.Context())
			if devices != nil {
				g.Go(func() error { return devices.Run(ctx) })
			}
			if metricsListen != "" {
				src, _ := cfg.Fleet.(agentmetrics.Source)
				ms, err := agentmetrics.Listen(metricsListen, src)
				if err != nil {
					return fmt.Errorf("--metrics-listen: %w", err)
				}
				cfg.OnState = ms.SetLink
				log.Info("metrics and health served", "url", "http://"+ms.Addr()+"/metrics")
				g.Go(func() error { return ms.Serve(ctx) })
			}
			g.Go(func() error { return agent.Run(ctx, cfg) })
			return g.Wait()
		},
	}
	if setup != nil {
		setup.AddFlags(cmd.Flags())
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve /healthz (200 while the link is up) and Prometheus /metrics on this address, e.g. 127.0.0.1:9464")
	cmd.Flags().DurationVar(&reportEvery, "report-interval", time.Minute, "how often the devices' state is read and reported to the relay")
	cmd.Flags().DurationVar(&checkEvery, "release-check-interval", 2*time.Hour, "how often managed devices are brought to their profiles (new releases, changed profiles)")
	return cmd
}

// Status is `KIND status`: the agent's identity and enrollment.
func Status(defaultData string) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this agent's identity and enrollment, and its devices as last read",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			if err := id.Describe(cmd.OutOrStdout()); err != nil {
				return err
			}
			return fleet.DescribeSnapshot(cmd.OutOrStdout(), dataDir)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	return cmd
}
