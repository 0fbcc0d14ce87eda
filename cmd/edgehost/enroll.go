package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/cli"
)

func newEnrollCommand() *cobra.Command {
	var relay, token, caFile, dataDir string
	var force bool
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll this edge host with a relay, using a one-time enrollment token",
		Long: `enroll makes a key pair on this host, sends only its certificate request and the
one-time token to the relay, and stores the signed client certificate, the key (mode 0600)
and the relay's CA in --data. The token works once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.RequireFlags(cmd, "relay", "token", "ca"); err != nil {
				return err
			}
			caPEM, err := identity.ReadCA(dataDir, caFile, force)
			if err != nil {
				return err
			}
			id, err := identity.EnrollEdgeHost(cmd.Context(), relay, caPEM, token)
			if err != nil {
				return err
			}
			if err := id.Save(dataDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled edge host %s of organization %s; identity stored in %s\n", id.AgentID, id.Org, dataDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&relay, "relay", "", "relay URL, e.g. https://relay.example:8443")
	f.StringVar(&token, "token", "", "one-time enrollment token (env EDGEHOST_TOKEN)")
	f.StringVar(&caFile, "ca", "", "the relay's CA certificate (the relay's DATA/ca.pem)")
	f.StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	f.BoolVar(&force, "force", false, "replace an identity already enrolled in --data")
	return cmd
}
