// Package buildinfo carries the version stamped into every binary at link time.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set with -ldflags "-X github.com/opencamcloud/camcloud/internal/buildinfo.Version=v1.2.3".
// A plain `go build` leaves it "dev" and String falls back to the VCS revision.
var Version = "dev"

// String describes the build in one line: version, VCS revision when known, Go version and platform.
func String() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("%s%s %s %s/%s", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
