// Package testtool finds the outside programs some tests drive (ffprobe, ffmpeg, unshare,
// curl). With CAMCLOUD_REQUIRE_TOOLS=1, as `make test` and CI set it, a missing program
// fails the test; otherwise the test is skipped with the reason.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of the program name, or stops the test when it is not installed.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CAMCLOUD_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is required by this test and not installed (.ci/run installs it): %v", name, err)
	}
	t.Skipf("%s not installed; set CAMCLOUD_REQUIRE_TOOLS=1 to make this a failure", name)
	return ""
}
