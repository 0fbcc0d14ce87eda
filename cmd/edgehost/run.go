package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
)

func newRunCommand() *cobra.Command {
	var dataDir, logLevel string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Connect to the relay and serve it until stopped (Ctrl-C)",
		Long: `run keeps this edge host's link to the relay up: one outbound WebSocket with mutual
TLS, reconnecting with jittered exponential backoff when it drops.`,
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
			return agent.Run(cmd.Context(), agent.Config{Identity: id, Kind: "edgehost", Logger: log})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "/var/lib/edgehost", "data directory of this agent")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
