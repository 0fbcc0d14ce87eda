// Package agentcmd holds the commands edgehost and devicehost share: run and status.
package agentcmd

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
)

// Run is `KIND run`: keep the link to the relay up until stopped.
func Run(kind, defaultData string) *cobra.Command {
	var dataDir, logLevel string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Connect to the relay and serve it until stopped (Ctrl-C)",
		Long: `run keeps this agent's link to the relay up: one outbound WebSocket with mutual
TLS (the certificate from enroll), reconnecting with jittered exponential backoff when it
drops.`,
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
			return agent.Run(cmd.Context(), agent.Config{Identity: id, Kind: kind, Logger: log})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// Status is `KIND status`: the agent's identity and enrollment.
func Status(defaultData string) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this agent's identity and enrollment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			return id.Describe(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	return cmd
}
