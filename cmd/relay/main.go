// Command relay is the camcloud relay: the public API, tenancy, the device inventory,
// rollouts and the agents' links, and its command line.
package main

import "github.com/opencamcloud/camcloud/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
