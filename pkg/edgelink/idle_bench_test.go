package edgelink

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

var idleLinks = flag.Int("edgelink.idle-links", 1000, "number of agent links BenchmarkIdleLinks holds (issue 4 asks about 10000)")

// BenchmarkIdleLinks measures what an idle agent link costs the relay. The agents run
// in a child process (this test binary again, as TestIdleAgentsHelper), so that the
// relay process holds only the relay's ends: the TLS connection, the HTTP server's
// hijacked connection, the WebSocket, the yamux session and its goroutines, and the
// Relay's bookkeeping. It reports, per link, the growth of Go's heap and stacks after
// a collection (KiB/link), of the resident set after returning free memory to the OS
// (rss-KiB/link), and of goroutines; then it restarts the relay and reports how long
// the reconnect storm takes until every agent is back (reconnect-s).
func BenchmarkIdleLinks(b *testing.B) {
	n := *idleLinks
	for b.Loop() {
		m := measureIdleLinks(b, n)
		b.ReportMetric(m.heapKiB, "KiB/link")
		b.ReportMetric(m.rssKiB, "rss-KiB/link")
		b.ReportMetric(m.goroutines, "goroutines/link")
		b.ReportMetric(m.connect.Seconds(), "connect-s")
		b.ReportMetric(m.reconnect.Seconds(), "reconnect-s")
	}
}

type idleMeasure struct {
	heapKiB, rssKiB, goroutines float64
	connect, reconnect          time.Duration
}

// benchRelay is a relay on loopback as the real one runs: mutual TLS, the upgrade
// handler, agents identified by their certificate. All agents of the child share one
// certificate, so the agent ID comes from a header once the certificate is verified.
type benchRelay struct {
	relay *Relay
	srv   *http.Server
	addr  string
	done  chan struct{}
}

func startBenchRelay(b *testing.B, addr string) *benchRelay {
	r, err := NewRelay(RelayConfig{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	var ln net.Listener
	testtool.WaitFor(b, 10*time.Second, "the address to be free", func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	mux := http.NewServeMux()
	mux.Handle("GET /link", r.UpgradeHandler(func(req *http.Request) (string, error) {
		if _, err := certAgentID(req); err != nil {
			return "", err
		}
		return req.Header.Get("X-Bench-Agent"), nil
	}))
	br := &benchRelay{relay: r, addr: ln.Addr().String(), done: make(chan struct{})}
	br.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         newTestPKI(b).serverTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	go func() { defer close(br.done); _ = br.srv.ServeTLS(ln, "", "") }()
	return br
}

func (br *benchRelay) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = br.srv.Shutdown(ctx)
	cancel()
	_ = br.relay.Close()
	<-br.done
}

func (br *benchRelay) connected() int {
	n := 0
	for _, st := range br.relay.Agents() {
		if st.Connected {
			n++
		}
	}
	return n
}

func measureIdleLinks(b *testing.B, n int) idleMeasure {
	var m idleMeasure
	br := startBenchRelay(b, "127.0.0.1:0")
	addr := br.addr

	heap0, rss0, g0 := relayFootprint()
	child := startIdleAgents(b, addr, n)
	start := time.Now()
	testtool.WaitFor(b, 5*time.Minute, fmt.Sprintf("%d agents to connect", n), func() bool { return br.connected() == n })
	m.connect = time.Since(start)
	child.waitReady(b)
	heap1, rss1, g1 := relayFootprint()
	m.heapKiB = float64(heap1-heap0) / 1024 / float64(n)
	m.rssKiB = float64(rss1-rss0) / 1024 / float64(n)
	m.goroutines = float64(g1-g0) / float64(n)

	// The relay restarts: every agent must come back by itself.
	br.stop()
	start = time.Now()
	br = startBenchRelay(b, addr)
	testtool.WaitFor(b, 5*time.Minute, fmt.Sprintf("%d agents to reconnect", n), func() bool { return br.connected() == n })
	m.reconnect = time.Since(start)

	child.stop(b)
	br.stop()
	return m
}

// relayFootprint is this process's Go heap and stacks in use after a collection, its
// resident set after free memory went back to the OS, and its goroutine count.
func relayFootprint() (heap, rss uint64, goroutines int) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, residentBytes(), runtime.NumGoroutine()
}

// residentBytes reads VmRSS from /proc/self/status; 0 where there is none.
func residentBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// idleAgents is the child process holding the agents.
type idleAgents struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan error
}

func startIdleAgents(b *testing.B, addr string, n int) *idleAgents {
	p := newTestPKI(b)
	cert := p.issue("bench-agents", x509.ExtKeyUsageClientAuth)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleAgentsHelper$", "-test.v=false")
	cmd.Env = append(os.Environ(),
		"EDGELINK_IDLE_HELPER="+addr,
		"EDGELINK_IDLE_N="+strconv.Itoa(n),
		"EDGELINK_IDLE_CA="+string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw})),
		"EDGELINK_IDLE_CERT="+string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})),
		"EDGELINK_IDLE_KEY="+string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &idleAgents{cmd: cmd, stdin: stdin, ready: make(chan error, 1)}
	go func() { // ends when the child's stdout does, which cmd.Wait in stop waits for
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				c.ready <- nil
			}
		}
		c.ready <- errors.New("agent process ended before it was ready")
	}()
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return c
}

func (c *idleAgents) waitReady(b *testing.B) {
	select {
	case err := <-c.ready:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(time.Minute):
		b.Fatal("agent process not ready")
	}
}

func (c *idleAgents) stop(b *testing.B) {
	_ = c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		b.Errorf("agent process: %v", err)
	}
}

// TestIdleAgentsHelper is the child process of BenchmarkIdleLinks: it runs
// EDGELINK_IDLE_N agents against the relay at EDGELINK_IDLE_HELPER, says "ready" once
// all are connected, and stops them when its stdin closes.
func TestIdleAgentsHelper(t *testing.T) {
	addr := os.Getenv("EDGELINK_IDLE_HELPER")
	if addr == "" {
		t.Skip("the child process of BenchmarkIdleLinks")
	}
	n, _ := strconv.Atoi(os.Getenv("EDGELINK_IDLE_N"))
	cert, err := tls.X509KeyPair([]byte(os.Getenv("EDGELINK_IDLE_CERT")), []byte(os.Getenv("EDGELINK_IDLE_KEY")))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(os.Getenv("EDGELINK_IDLE_CA")))
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS13}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	agents := make([]*Agent, n)
	for i := range agents {
		a, err := NewAgent(AgentConfig{
			RelayURL:  "wss://" + addr + "/link",
			TLSConfig: tlsConf,
			Header:    http.Header{"X-Bench-Agent": {fmt.Sprintf("agent-%05d", i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		agents[i] = a
		wg.Go(func() { _ = a.Run(ctx) })
	}
	for _, a := range agents {
		if err := a.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes our stdin
	cancel()
	wg.Wait()
}
