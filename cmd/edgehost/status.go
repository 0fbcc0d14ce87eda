package main

import (
	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
)

func newStatusCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this edge host's identity and enrollment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			return id.Describe(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "/var/lib/edgehost", "data directory of this agent")
	return cmd
}
