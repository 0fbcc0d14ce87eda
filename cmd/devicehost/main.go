// Command devicehost is the camcloud agent that runs on one camera and manages it through
// its local VAPIX.
package main

import "github.com/opencamcloud/camcloud/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
