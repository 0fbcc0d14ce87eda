// Command relay: The camcloud relay: the public API, tenancy, agent links, signaling and TURN.
package main

import "github.com/opencamcloud/camcloud/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
