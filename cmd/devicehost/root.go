package main

import (
	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/cli"
)

const long = `devicehost is the camcloud agent on a camera. After a user claimed the camera for an
organization with its serial number and owner authentication key (OAK), devicehost
enrolls itself: it reads the serial and the OAK from its camera over VAPIX and proves the
key to the relay without sending it.

  devicehost enroll --relay https://relay.example:8443 --ca ca.pem --device http://127.0.0.1 \
      --device-user root --device-password ... --data /var/lib/devicehost

Flags can also be set as DEVICEHOST_<FLAG> environment variables or keys of a --config file.`

func newRootCommand() *cobra.Command {
	root := cli.Root("devicehost", "DEVICEHOST", "The camcloud agent that runs on one camera and manages it through its local VAPIX", long)
	root.AddCommand(newEnrollCommand(), newStatusCommand(), newRunCommand())
	return root
}

func newStatusCommand() *cobra.Command {
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
	cmd.Flags().StringVar(&dataDir, "data", "/var/lib/devicehost", "data directory of this agent")
	return cmd
}
