package main

import (
	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/agentcmd"
	"github.com/opencamcloud/camcloud/internal/cli"
)

const defaultData = "/var/lib/edgehost"

const long = `edgehost is the camcloud agent for an on-premise host. It keeps one outbound,
mutually authenticated connection to the relay and manages the cameras on its network.

Start by enrolling it with the one-time token an organization admin created
(POST /api/v1/orgs/{org}/edgehosts):

  edgehost enroll --relay https://relay.example:8443 --token cce_... --ca ca.pem --data /var/lib/edgehost

Flags can also be set as EDGEHOST_<FLAG> environment variables or keys of a --config file.`

func newRootCommand() *cobra.Command {
	root := cli.Root("edgehost", "EDGEHOST", "The camcloud edge agent for an on-premise host managing many cameras", long)
	root.AddCommand(newEnrollCommand(), agentcmd.Status(defaultData), agentcmd.Run("edgehost", defaultData, &fleetSetup{}))
	return root
}
