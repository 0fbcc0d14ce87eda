// Command camsim runs a fleet of simulated Axis cameras: VAPIX over HTTP Digest, H.264
// over RTSP, mDNS announcements, fault injection and a control API for tests.
package main

import "github.com/opencamcloud/camcloud/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
