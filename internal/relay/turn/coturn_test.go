package turn

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// freePort is a port free for both TCP and UDP on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

// startCoturn runs Debian's coturn on loopback with the REST API secret scheme (the
// configuration docs/operating.md gives operators, with loopback peers allowed for the
// test) and returns its address.
func startCoturn(t testing.TB, secret, realm string) string {
	t.Helper()
	bin := testtool.Require(t, "turnserver")
	dir := t.TempDir()
	port := freePort(t)
	minPort := 20000 + (port*7)%20000 // spread the relay ranges of parallel runs
	args := []string{
		"-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port=" + strconv.Itoa(port),
		"--use-auth-secret", "--static-auth-secret=" + secret, "--realm=" + realm,
		"--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-rfc5780",
		"--min-port=" + strconv.Itoa(minPort), "--max-port=" + strconv.Itoa(minPort+999),
		"--db=" + filepath.Join(dir, "turndb"), "--pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"--log-file=" + filepath.Join(dir, "turnserver.log"), "--simple-log", "--no-stdout-log",
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start coturn: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	testtool.WaitFor(t, 15*time.Second, "coturn to listen on "+addr, func() bool {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "turnserver.log"))
			t.Fatalf("coturn exited: %v\n%s", err, log)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
	return addr
}

func TestOurClientThroughCoturn(t *testing.T) {
	addr := startCoturn(t, testSecret, DefaultRealm)
	peer := echoPeer(t)
	for _, tr := range []transport{overUDP, overTCP} {
		t.Run(string(tr), func(t *testing.T) {
			cred := NewCredential(testSecret, "org_a", time.Now().Add(time.Hour))
			relay, err := dialClient(t, tr, addr, nil, cred.Username, cred.Password, DefaultRealm).Allocate()
			if err != nil {
				t.Fatalf("coturn refused our credential: %v", err)
			}
			defer relay.Close()
			if err := roundTrip(relay, peer.LocalAddr(), []byte("through coturn")); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		cred := NewCredential(testSecret, "org_a", time.Now().Add(-time.Minute))
		if relay, err := dialClient(t, overUDP, addr, nil, cred.Username, cred.Password, DefaultRealm).Allocate(); err == nil {
			_ = relay.Close()
			t.Fatal("coturn granted an expired credential: the schemes differ")
		}
	})
}

var uclientTotals = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// TestCoturnClientThroughOurServer has coturn's test client compute a REST API
// credential from the secret (-W) itself and relay through this server to an echo peer.
func TestCoturnClientThroughOurServer(t *testing.T) {
	bin := testtool.Require(t, "turnutils_uclient")
	s, _, _ := startServer(t, nil)
	peer := echoPeer(t)
	peerPort := strconv.Itoa(peer.LocalAddr().(*net.UDPAddr).Port)
	const messages = 20
	for _, tc := range []struct {
		name  string
		flags []string
		addr  net.Addr
	}{
		{"udp", nil, s.UDPAddr()},
		{"tcp", []string{"-t"}, s.TCPAddr()},
		{"tls", []string{"-t", "-S"}, s.TLSAddr()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.metrics.created)
			_, port, _ := net.SplitHostPort(tc.addr.String())
			args := append(append([]string{}, tc.flags...), "-c", "-X", "-u", "org_a", "-W", testSecret,
				"-e", "127.0.0.1", "-r", peerPort, "-n", strconv.Itoa(messages), "-l", "200", "-z", "5", "-p", port, "127.0.0.1")
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("turnutils_uclient %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			m := uclientTotals.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no totals in turnutils_uclient's output:\n%s", out)
			}
			sent, _ := strconv.Atoi(string(m[1]))
			recv, _ := strconv.Atoi(string(m[2]))
			if sent != messages || recv < messages*9/10 {
				t.Fatalf("turnutils_uclient sent %d and got back %d of %d messages:\n%s", sent, recv, messages, out)
			}
			if got := testutil.ToFloat64(s.metrics.created) - before; got < 1 {
				t.Errorf("no allocation counted")
			}
		})
	}
}
