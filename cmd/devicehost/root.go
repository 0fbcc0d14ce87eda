package main

import (
	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/agentcmd"
	"github.com/opencamcloud/camcloud/internal/cli"
)

const defaultData = "/var/lib/devicehost"

const long = `devicehost is the camcloud agent on a camera. After a user claimed the camera for an
organization with its serial number and owner authentication key (OAK), devicehost
enrolls itself: it reads the serial and the OAK from its camera over VAPIX and proves the
key to the relay without sending it.

  devicehost enroll --relay https://relay.example:8443 --ca ca.pem --device http://127.0.0.1 \
      --device-user root --device-password ... --data /var/lib/devicehost

Flags can also be set as DEVICEHOST_<FLAG> environment variables or keys of a --config file.`

func newRootCommand() *cobra.Command {
	root := cli.Root("devicehost", "DEVICEHOST", "The camcloud agent that runs on one camera and manages it through its local VAPIX", long)
	root.AddCommand(newEnrollCommand(), agentcmd.Status(defaultData), agentcmd.Run("devicehost", defaultData, &cameraSetup{}))
	return root
}
