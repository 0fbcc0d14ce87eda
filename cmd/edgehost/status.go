package main

import (
	"fmt"

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
			notAfter, err := id.NotAfter()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "edge host:    %s\n", id.AgentID)
			fmt.Fprintf(w, "organization: %s\n", id.Org)
			fmt.Fprintf(w, "relay:        %s\n", id.Relay)
			fmt.Fprintf(w, "enrolled:     %s\n", id.EnrolledAt.Format("2006-01-02 15:04:05 MST"))
			fmt.Fprintf(w, "certificate:  valid until %s\n", notAfter.UTC().Format("2006-01-02 15:04:05 MST"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "/var/lib/edgehost", "data directory of this agent")
	return cmd
}
