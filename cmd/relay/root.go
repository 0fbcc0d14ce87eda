package main

import (
	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/cli"
)

const long = `The relay is camcloud's cloud side: it authenticates people and applications,
keeps organizations, members and the device inventory, and routes requests to the agents
that dial in to it.

Start it:
  relay serve --data DIR                # HTTPS on 127.0.0.1:8443
On first start it creates DIR/ca.pem (the CA clients trust) and a first admin
(--admin-email, default admin@localhost) with the password from RELAY_ADMIN_PASSWORD, or a
generated one printed once on stderr, in an organization named "default".

Talk to it:
  relay login --relay https://127.0.0.1:8443 --ca DIR/ca.pem --email admin@localhost
  relay orgs list
  relay devices list --org default
--org takes an organization's ID or name.

Every flag can also be set as RELAY_<FLAG> in the environment (RELAY_LISTEN for --listen)
or as a key of the YAML file given with --config.`

func newRootCommand() *cobra.Command {
	root := cli.Root("relay", "RELAY", "The camcloud relay: the public API, tenancy, inventory, rollouts and agent links", long)
	root.AddCommand(newServeCommand(), newAdminCommand(), newLoginCommand(), newOrgsCommand(), newDevicesCommand(), newEdgeHostsCommand(), newJobsCommand(),
		newTasksCommand(), newProfilesCommand(), newReleasesCommand(), newMembersCommand(), newWhoamiCommand())
	cli.RejectUnknownSubcommands(root)
	return root
}
