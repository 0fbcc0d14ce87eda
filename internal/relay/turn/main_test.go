package turn

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary a TURN server process instead (see serveChild).
const childEnv = "CAMCLOUD_TURN_TEST_SERVER"

func TestMain(m *testing.M) {
	if secret := os.Getenv(childEnv); secret != "" {
		if err := serveChild(secret); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveChild runs a built-in TURN server over UDP on loopback, prints its address and
// serves until its standard input closes (the parent ended or closed it).
func serveChild(secret string) error {
	s, err := New(Config{
		Secret: secret, UDPListen: "127.0.0.1:0", PublicIP: net.IPv4(127, 0, 0, 1),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		return err
	}
	fmt.Println(s.UDPAddr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return s.Close()
}

// startChildServer runs the built-in server in a process of its own, as coturn runs,
// so that both servers get the machine's cores the same way; it returns its address.
func startChildServer(tb testing.TB, secret string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+secret)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("the TURN server process did not start: %v", err)
	}
	return strings.TrimSpace(line)
}
