package edgelink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// testPKI is a CA with a relay server certificate for 127.0.0.1 and a way to issue
// agent client certificates, all ECDSA P-256 as the real relay's (internal/relay/pki).
type testPKI struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	server tls.Certificate
}

var (
	pkiOnce   sync.Once
	sharedPKI *testPKI
)

// newTestPKI returns one PKI per test binary: key generation is cheap, but there is
// no reason to repeat it in every test and benchmark.
func newTestPKI(tb testing.TB) *testPKI {
	tb.Helper()
	pkiOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "edgelink test CA"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		ca, _ := x509.ParseCertificate(der)
		p := &testPKI{caCert: ca, caKey: key, pool: x509.NewCertPool()}
		p.pool.AddCert(ca)
		p.server = p.issue("127.0.0.1", x509.ExtKeyUsageServerAuth)
		sharedPKI = p
	})
	return sharedPKI
}

var serial = struct {
	sync.Mutex
	n int64
}{n: 1}

func (p *testPKI) issue(cn string, usage x509.ExtKeyUsage) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	serial.Lock()
	serial.n++
	sn := serial.n
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serverTLS is the relay's TLS: mutual, with agent certificates from the test CA.
func (p *testPKI) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
		MinVersion:   tls.VersionTLS13,
	}
}

// agentTLS is an agent's TLS with a client certificate for agentID.
func (p *testPKI) agentTLS(agentID string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.issue(agentID, x509.ExtKeyUsageClientAuth)},
		RootCAs:      p.pool,
		MinVersion:   tls.VersionTLS13,
	}
}

// certAgentID is the Authenticate function of the tests: the agent is the common name
// of its verified client certificate (the real relay reads a URI SAN instead).
func certAgentID(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return "", errors.New("no verified client certificate")
	}
	return r.TLS.VerifiedChains[0][0].Subject.CommonName, nil
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// checkGoroutines fails the test if goroutines started during it are still running
// once its cleanups have run. Register it first, so that it runs last. Tests that use
// it must not be parallel.
func checkGoroutines(tb testing.TB) {
	tb.Helper()
	before := goroutineIDs()
	tb.Cleanup(func() {
		var leaked []string
		defer func() { // also when WaitFor gives up: show what is left
			if len(leaked) > 0 {
				tb.Errorf("%d goroutines leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			}
		}()
		testtool.WaitFor(tb, 10*time.Second, "the goroutines the test started to end", func() bool {
			leaked = leaked[:0]
			for id, stack := range goroutineStacks() {
				if !before[id] && !ignorableGoroutine(stack) {
					leaked = append(leaked, stack)
				}
			}
			return len(leaked) == 0
		})
	})
}

func ignorableGoroutine(stack string) bool {
	return strings.Contains(stack, "testing.(*T).Run") || strings.Contains(stack, "testing.tRunner") ||
		strings.Contains(stack, "runtime.goexit0") || strings.Contains(stack, "os/signal") ||
		strings.Contains(stack, "testing.runFuzzing") || strings.Contains(stack, "testing/synctest")
}

func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for id := range goroutineStacks() {
		ids[id] = true
	}
	return ids
}

func goroutineStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		var id int
		if _, err := fmt.Sscanf(header, "goroutine %d", &id); err == nil {
			out[fmt.Sprint(id)] = g
		}
	}
	return out
}

// connKind is how the agent's connection reaches the relay in a test: yamux's
// testConnTypes idea, so that the link does not depend on the WebSocket adapter to work
// and the adapter is tested under the same load as the rest.
type connKind string

const (
	kindPipe connKind = "pipe"
	kindTCP  connKind = "tcp"
	kindWS   connKind = "wss"
)

var connKinds = []connKind{kindPipe, kindTCP, kindWS}

// testConnTypes runs body once per connection kind.
func testConnTypes(t *testing.T, body func(t *testing.T, kind connKind)) {
	for _, k := range connKinds {
		t.Run(string(k), func(t *testing.T) { body(t, k) })
	}
}

// linkOptions adjust the relay and agent of a linkEnv.
type linkOptions struct {
	relayHandler http.Handler
	agentHandler http.Handler
	relayCfg     func(*RelayConfig)
	agentCfg     func(*AgentConfig)
	agentID      string
	logger       *slog.Logger
}

// linkEnv is one relay and one agent linked over a connKind: a real Relay served by a
// real mTLS HTTPS server (wss), or handed connections by a TCP accept loop or net.Pipe,
// and a real Agent running its reconnect loop.
type linkEnv struct {
	tb      testing.TB
	kind    connKind
	opts    linkOptions
	agentID string
	pki     *testPKI
	events  *eventLog

	mu    sync.Mutex
	relay *Relay       // current relay; replaced by restartRelay; guarded by mu
	srv   *http.Server // wss only; guarded by mu
	ln    net.Listener // tcp and wss; guarded by mu
	addr  string
	// rawConns are the agent's TCP connections (tcp and wss), to cut without a word.
	rawConns []net.Conn // guarded by mu

	agent     *Agent
	stopAgent context.CancelFunc
	agentDone chan error

	wg sync.WaitGroup // accept loops and Accept calls the env started
}

func startLink(tb testing.TB, kind connKind, opts linkOptions) *linkEnv {
	tb.Helper()
	if opts.agentID == "" {
		opts.agentID = "eh_test-agent.1"
	}
	if opts.logger == nil {
		opts.logger = testLogger(tb)
	}
	e := &linkEnv{tb: tb, kind: kind, opts: opts, agentID: opts.agentID, pki: newTestPKI(tb), events: &eventLog{}}
	e.startRelay("127.0.0.1:0")
	tb.Cleanup(e.stopRelay)

	acfg := AgentConfig{
		RelayURL:   "wss://" + e.addr + "/link",
		TLSConfig:  e.pki.agentTLS(e.agentID),
		Handler:    opts.agentHandler,
		BackoffMin: 10 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond,
		Logger:     opts.logger.With("side", "agent"),
	}
	if opts.agentCfg != nil {
		opts.agentCfg(&acfg)
	}
	a, err := NewAgent(acfg)
	if err != nil {
		tb.Fatal(err)
	}
	switch kind {
	case kindPipe:
		a.dial = func(ctx context.Context) (net.Conn, error) {
			agentEnd, relayEnd := net.Pipe()
			r := e.currentRelay()
			e.wg.Go(func() { _ = r.Accept(context.Background(), e.agentID, relayEnd) })
			return agentEnd, nil
		}
	case kindTCP:
		a.dial = func(ctx context.Context) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", e.addr)
			if err == nil {
				e.mu.Lock()
				e.rawConns = append(e.rawConns, c)
				e.mu.Unlock()
			}
			return c, err
		}
	case kindWS:
		a.dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				e.mu.Lock()
				e.rawConns = append(e.rawConns, c)
				e.mu.Unlock()
			}
			return c, err
		}
	}
	e.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	e.stopAgent = cancel
	e.agentDone = make(chan error, 1)
	go func() { e.agentDone <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-e.agentDone:
			if err != nil {
				tb.Errorf("agent Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("agent Run did not return after cancel")
		}
	})
	return e
}

func (e *linkEnv) currentRelay() *Relay {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.relay
}

// startRelay starts a relay listening on addr ("127.0.0.1:0" the first time, the same
// address on a restart).
func (e *linkEnv) startRelay(addr string) {
	cfg := RelayConfig{
		Handler: e.opts.relayHandler,
		OnEvent: e.events.add,
		Logger:  e.opts.logger.With("side", "relay"),
	}
	if e.opts.relayCfg != nil {
		e.opts.relayCfg(&cfg)
	}
	r, err := NewRelay(cfg)
	if err != nil {
		e.tb.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.relay = r
	if e.kind == kindPipe {
		return
	}
	var ln net.Listener
	testtool.WaitFor(e.tb, 5*time.Second, "the old listener's port to be released", func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	e.ln, e.addr = ln, ln.Addr().String()
	switch e.kind {
	case kindTCP:
		e.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				e.wg.Go(func() { _ = r.Accept(context.Background(), e.agentID, c) })
			}
		})
	case kindWS:
		mux := http.NewServeMux()
		mux.Handle("GET /link", r.UpgradeHandler(certAgentID))
		srv := &http.Server{
			Handler:           mux,
			TLSConfig:         e.pki.serverTLS(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(e.opts.logger.Handler(), slog.LevelDebug),
		}
		e.srv = srv
		e.wg.Go(func() { _ = srv.ServeTLS(ln, "", "") })
	}
}

// stopRelay stops the relay as its owner would: the listener, then every link.
func (e *linkEnv) stopRelay() {
	e.mu.Lock()
	r, srv, ln := e.relay, e.srv, e.ln
	e.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(ctx) // does not wait for hijacked connections: r.Close does
		cancel()
	} else if ln != nil {
		_ = ln.Close()
	}
	_ = r.Close()
	e.wg.Wait()
}

// restartRelay stops the relay and starts a new one on the same address.
func (e *linkEnv) restartRelay() {
	e.stopRelay()
	addr := e.addr
	if e.kind == kindPipe {
		addr = ""
	}
	e.startRelay(addr)
}

// cutAgentConn closes the agent's TCP connection (or pipe end) under everything, as
// the kernel does for a process killed with SIGKILL: no close frame, no TLS alert.
func (e *linkEnv) cutAgentConn() {
	e.mu.Lock()
	conns := e.rawConns
	e.rawConns = nil
	e.mu.Unlock()
	if e.kind == kindPipe {
		// The pipe has no raw conn; closing the session's conn does the same.
		e.agent.mu.Lock()
		s := e.agent.sess
		e.agent.mu.Unlock()
		if s != nil {
			_ = s.Close()
		}
		return
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// relayClient is an http.Client through the current relay's Transport.
func (e *linkEnv) relayClient() *http.Client {
	return &http.Client{Transport: e.currentRelay().Transport()}
}

func (e *linkEnv) agentURL(path string) string {
	return "http://" + AgentHost(e.agentID) + path
}

func (e *linkEnv) waitConnected() {
	e.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.agent.WaitConnected(ctx); err != nil {
		e.tb.Fatalf("agent not connected: %v (status %+v)", err, e.agent.Status())
	}
	testtool.WaitFor(e.tb, 10*time.Second, "relay to see the agent", func() bool {
		st, ok := e.currentRelay().Status(e.agentID)
		return ok && st.Connected
	})
}

// waitReconnectedSince waits for a session that began after since, on both sides.
func (e *linkEnv) waitReconnectedSince(since time.Time) {
	e.tb.Helper()
	testtool.WaitFor(e.tb, 10*time.Second, "a new session", func() bool {
		st, ok := e.currentRelay().Status(e.agentID)
		as := e.agent.Status()
		return ok && st.Connected && st.ConnectedAt.After(since) &&
			as.State == StateConnected && as.ConnectedAt.After(since)
	})
}

// eventLog records a relay's events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
}

func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

func (l *eventLog) count(kind EventKind) int {
	n := 0
	for _, ev := range l.list() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}
