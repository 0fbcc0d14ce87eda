package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
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
			var missing []error
			for name, v := range map[string]string{"--relay": relay, "--token": token, "--ca": caFile} {
				if v == "" {
					missing = append(missing, fmt.Errorf("%s is required", name))
				}
			}
			if err := errors.Join(missing...); err != nil {
				return err
			}
			if _, err := identity.Load(dataDir); err == nil && !force {
				return fmt.Errorf("%s already holds an enrolled identity; use --force to replace it", dataDir)
			}
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("--ca: %w", err)
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
