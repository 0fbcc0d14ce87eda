package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InNetns runs the calling test again inside a new network namespace that has only a
// loopback interface (up, multicast on), so that multicast (mDNS) and anything else the
// test sends cannot leave the machine. It returns true in that child run, where the test
// body goes on; in the parent it waits for the child, fails with its output if the child
// failed, and returns false.
//
//	if !testtool.InNetns(t) {
//		return
//	}
func InNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv("CAMCLOUD_IN_NETNS") == "1" {
		return true
	}
	unshare := Require(t, "unshare")
	ip := Require(t, "ip")
	script := fmt.Sprintf(`%s link set lo up && %s link set lo multicast on && exec "$0" -test.run '^%s$' -test.v -test.count=1`, ip, ip, t.Name())
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		// Without root, a user namespace in which we are root may create the network one.
		args = []string{"--user", "--map-root-user", "--net"}
	}
	cmd := exec.Command(unshare, append(args, "sh", "-c", script, os.Args[0])...)
	cmd.Env = append(os.Environ(), "CAMCLOUD_IN_NETNS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("test in a network namespace failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("test did not run in the namespace:\n%s", out)
	}
	return false
}
