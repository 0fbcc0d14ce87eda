// Command edgehost is the camcloud edge agent for an on-premise host managing many cameras.
package main

import "github.com/opencamcloud/camcloud/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
