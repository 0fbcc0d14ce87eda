package edgelink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// agentTestHandler is what the tests' agents serve to the relay.
func agentTestHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Host", r.Host)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body)
	})
	mux.HandleFunc("POST /sha256", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		seed, _ := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, io.LimitReader(newPatternReader(seed), n))
	})
	return mux
}

// relayTestHandler is what the tests' relays serve to agents.
func relayTestHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		id, ok := AgentID(r.Context())
		if !ok {
			http.Error(w, "no agent in context", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, id)
	})
	mux.HandleFunc("POST /sha256", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		seed, _ := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, io.LimitReader(newPatternReader(seed), n))
	})
	return mux
}

// newPatternReader is a fast, seeded, non-repeating byte source, so that a checksum
// catches reordered or dropped frames.
func newPatternReader(seed uint64) io.Reader {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(key)
}

func patternSHA256(seed uint64, n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, io.LimitReader(newPatternReader(seed), n))
	return hex.EncodeToString(h.Sum(nil))
}

func defaultLinkOptions() linkOptions {
	return linkOptions{relayHandler: relayTestHandler(), agentHandler: agentTestHandler()}
}

func get(tb testing.TB, c *http.Client, url string) string {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %q %v", url, resp.StatusCode, body, err)
	}
	return string(body)
}

func TestLinkHTTPBothWays(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		e := startLink(t, kind, defaultLinkOptions())
		e.waitConnected()

		// relay -> agent, through the Transport a ReverseProxy would use.
		resp, err := e.relayClient().Post(e.agentURL("/echo?x=1"), "text/plain", strings.NewReader("ping"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := string(body), "POST /echo?x=1 ping"; got != want {
			t.Errorf("relay->agent body = %q, want %q", got, want)
		}
		if got := resp.Header.Get("X-Host"); got != AgentHost(e.agentID) {
			t.Errorf("agent saw Host %q, want %q", got, AgentHost(e.agentID))
		}

		// agent -> relay; the relay's handler knows which agent asks.
		if got := get(t, e.agent.Client(), "http://relay/whoami"); got != e.agentID {
			t.Errorf("relay handler saw agent %q, want %q", got, e.agentID)
		}

		// Through httputil.ReverseProxy, as EdgeLink will use it.
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Scheme, pr.Out.URL.Host = "http", AgentHost(e.agentID)
			},
			Transport: e.currentRelay().Transport(),
		}
		rec := &responseRecorder{header: http.Header{}}
		req, _ := http.NewRequest("GET", "http://api.example/echo?via=proxy", nil)
		proxy.ServeHTTP(rec, req)
		if got, want := rec.body.String(), "GET /echo?via=proxy "; rec.code != http.StatusOK || got != want {
			t.Errorf("reverse proxy: %d %q, want 200 %q", rec.code, got, want)
		}

		st, ok := e.currentRelay().Status(e.agentID)
		if !ok || !st.Connected || st.ConnectedAt.IsZero() || st.LastSeen.Before(st.ConnectedAt) {
			t.Errorf("relay status = %+v, %v", st, ok)
		}
		if as := e.agent.Status(); as.State != StateConnected || as.ConnectedAt.IsZero() {
			t.Errorf("agent status = %+v", as)
		}
	})
}

// responseRecorder is enough of httptest.ResponseRecorder for the proxy check.
type responseRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *responseRecorder) Header() http.Header { return r.header }
func (r *responseRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *responseRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// largeBody is the size of the streamed-body test: 64 MiB, half under the race
// detector, which makes every byte copied some ten times slower. Either is twice
// maxStreamingHeap at least, so a body held whole would show.
func largeBody() int64 {
	if raceEnabled {
		return 32 << 20
	}
	return 64 << 20
}

// maxStreamingHeap bounds the live heap a streamed transfer may add, both ends
// together: a stream's receive buffer grows to about three windows (yamux's
// bytes.Buffer), plus frames, pools and TLS records.
const maxStreamingHeap = 16 << 20

func TestLinkLargeBodiesStreamWithFlatMemory(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		e := startLink(t, kind, defaultLinkOptions())
		e.waitConnected()
		n := largeBody()
		const seed = 7
		want := patternSHA256(seed, n)

		runtime.GC()
		peak := watchHeap(t)

		// relay -> agent upload.
		req, _ := http.NewRequest("POST", e.agentURL("/sha256"), io.LimitReader(newPatternReader(seed), n))
		req.ContentLength = n
		resp, err := e.relayClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != want {
			t.Errorf("upload to agent: sha256 %s, want %s", got, want)
		}
		// relay <- agent download.
		if got := sha256Of(t, e.relayClient(), e.agentURL(fmt.Sprintf("/stream?n=%d&seed=%d", n, seed))); got != want {
			t.Errorf("download from agent: sha256 %s, want %s", got, want)
		}
		// agent -> relay upload.
		req, _ = http.NewRequest("POST", "http://relay/sha256", io.LimitReader(newPatternReader(seed), n))
		req.ContentLength = n
		resp, err = e.agent.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != want {
			t.Errorf("upload to relay: sha256 %s, want %s", got, want)
		}
		// agent <- relay download.
		if got := sha256Of(t, e.agent.Client(), fmt.Sprintf("http://relay/stream?n=%d&seed=%d", n, seed)); got != want {
			t.Errorf("download from relay: sha256 %s, want %s", got, want)
		}

		// Both ends live in this process, so this is their sum.
		if grew := peak(); grew > maxStreamingHeap {
			t.Errorf("heap grew by %d MiB while streaming %d MiB bodies: not streamed", grew>>20, n>>20)
		} else {
			t.Logf("heap grew at most %.1f MiB while streaming %d MiB bodies four ways", float64(grew)/(1<<20), n>>20)
		}
	})
}

func sha256Of(tb testing.TB, c *http.Client, url string) string {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// watchHeap samples the live heap (collecting garbage first, so that only what is
// still referenced counts) until the returned function is called, which returns the
// largest growth seen over the live heap at the start.
func watchHeap(tb testing.TB) func() int64 {
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := live()
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // owned by the returned function, which stops and waits for it
		defer close(done)
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			if g := live() - base; g > peak.Load() {
				peak.Store(g)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	f := func() int64 {
		once.Do(func() { close(stop); <-done })
		return peak.Load()
	}
	tb.Cleanup(func() { f() })
	return f
}

func TestLinkManyConcurrentStreams(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		e := startLink(t, kind, defaultLinkOptions())
		e.waitConnected()
		const streams = 200
		const size = 64 << 10
		relayClient := &http.Client{Transport: e.currentRelay().Transport()}
		var wg sync.WaitGroup
		errs := make(chan error, 2*streams)
		for i := range streams {
			seed := uint64(i)
			want := patternSHA256(seed, size)
			// Half the streams each way, all at once.
			wg.Go(func() {
				req, _ := http.NewRequest("POST", e.agentURL("/sha256"), io.LimitReader(newPatternReader(seed), size))
				errs <- checkSHA(relayClient, req, want)
			})
			wg.Go(func() {
				req, _ := http.NewRequest("POST", "http://relay/sha256", io.LimitReader(newPatternReader(seed), size))
				errs <- checkSHA(e.agent.Client(), req, want)
			})
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				failed++
				if failed <= 5 {
					t.Error(err)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d requests failed", failed, 2*streams)
		}
	})
}

func checkSHA(c *http.Client, req *http.Request, want string) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("%s %s: sha256 %s, want %s", req.Method, req.URL, got, want)
	}
	return nil
}

func TestAgentReconnectsAfterRelayRestart(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		e := startLink(t, kind, defaultLinkOptions())
		e.waitConnected()
		first := e.currentRelay()

		e.restartRelay()
		if st, _ := first.Status(e.agentID); st.Connected {
			t.Errorf("old relay still has the agent after Close: %+v", st)
		}
		e.waitConnected()
		if got := get(t, e.relayClient(), e.agentURL("/echo")); got != "GET /echo " {
			t.Errorf("after reconnect relay->agent = %q", got)
		}
		if got := get(t, e.agent.Client(), "http://relay/whoami"); got != e.agentID {
			t.Errorf("after reconnect agent->relay = %q", got)
		}
		if n := e.events.count(EventConnected); n != 2 {
			t.Errorf("%d connected events over two relays, want 2: %v", n, e.events.list())
		}
	})
}

func TestRelayNoticesAbruptDrop(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		// Hold the agent back after the drop, so that the relay's view of the drop
		// is not hidden by the agent coming straight back.
		e := startLink(t, kind, linkOptions{
			relayHandler: relayTestHandler(),
			agentHandler: agentTestHandler(),
			agentCfg: func(c *AgentConfig) {
				c.BackoffMin, c.BackoffMax = 500*time.Millisecond, 500*time.Millisecond
			},
		})
		e.waitConnected()
		r := e.currentRelay()
		dropped := time.Now()
		e.cutAgentConn()
		// Closing the connection is noticed at once; the idle timeout (30 s) is for
		// agents that vanish without a FIN, tested in virtual time below.
		testtool.WaitFor(t, 5*time.Second, "relay to mark the agent offline", func() bool {
			st, _ := r.Status(e.agentID)
			return !st.Connected
		})
		t.Logf("offline after %v", time.Since(dropped).Round(time.Millisecond))
		if _, err := r.Dial(context.Background(), e.agentID); !errors.Is(err, ErrAgentOffline) {
			t.Errorf("Dial after drop: %v, want ErrAgentOffline", err)
		}
		if n := e.events.count(EventDisconnected); n != 1 {
			t.Errorf("%d disconnected events, want 1: %v", n, e.events.list())
		}
		e.waitConnected() // and it comes back by itself
	})
}

// rawAgent opens a yamux client session over one end of a pipe whose other end the
// relay accepts, and serves nothing: enough to be an agent for the relay's bookkeeping.
func rawAgent(t *testing.T, r *Relay, id string) (*yamux.Session, chan error) {
	t.Helper()
	agentEnd, relayEnd := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- r.Accept(context.Background(), id, relayEnd) }()
	sess, err := yamux.Client(agentEnd, yamuxConfig(DefaultStreamWindow, time.Second, 0, testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess, done
}

func TestRelayNewerSessionReplacesOlder(t *testing.T) {
	checkGoroutines(t)
	events := &eventLog{}
	r, err := NewRelay(RelayConfig{OnEvent: events.add, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	old, oldDone := rawAgent(t, r, "agent1")
	testtool.WaitFor(t, 5*time.Second, "first session", func() bool { return events.count(EventConnected) == 1 })
	_, newDone := rawAgent(t, r, "agent1")

	select {
	case err := <-oldDone:
		if !errors.Is(err, ErrReplaced) {
			t.Errorf("older Accept returned %v, want ErrReplaced", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("older session not ended")
	}
	testtool.WaitFor(t, 5*time.Second, "older session's end", old.IsClosed)
	st, _ := r.Status("agent1")
	if !st.Connected {
		t.Errorf("agent offline after being replaced: %+v", st)
	}
	evs := events.list()
	if len(evs) != 2 || evs[0].Kind != EventConnected || evs[1].Kind != EventConnected {
		t.Errorf("events = %v, want connected twice and no disconnect in between", evs)
	}

	r.Close()
	if err := <-newDone; !errors.Is(err, ErrRelayClosed) {
		t.Errorf("newer Accept returned %v after Close, want ErrRelayClosed", err)
	}
	if evs := events.list(); len(evs) != 3 || evs[2].Kind != EventDisconnected || !errors.Is(evs[2].Err, ErrRelayClosed) {
		t.Errorf("events = %v, want a final disconnect for ErrRelayClosed", evs)
	}
	if err := r.Accept(context.Background(), "agent1", nopConn{}); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("Accept after Close = %v, want ErrRelayClosed", err)
	}
}

func TestRelayAcceptEndsWithContext(t *testing.T) {
	checkGoroutines(t)
	r, err := NewRelay(RelayConfig{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	agentEnd, relayEnd := net.Pipe()
	defer agentEnd.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Accept(ctx, "agent1", relayEnd) }()
	testtool.WaitFor(t, 5*time.Second, "session", func() bool { st, _ := r.Status("agent1"); return st.Connected })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Accept after cancel = %v, want nil", err)
	}
	if err := r.Accept(ctx, "not an id!", nopConn{}); !errors.Is(err, ErrBadAgentID) {
		t.Errorf("Accept with a bad ID = %v, want ErrBadAgentID", err)
	}
}

type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

func TestRelayTransportRefusals(t *testing.T) {
	checkGoroutines(t)
	r, err := NewRelay(RelayConfig{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := &http.Client{Transport: r.Transport()}
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"http://" + AgentHost("nobody") + "/", ErrAgentOffline},
		{"http://" + AgentHost("nobody") + ":8080/", ErrAgentOffline},
		{"http://camera.local/", ErrNotAgentHost},
		{"http://127.0.0.1/", ErrNotAgentHost},
		{"http://-x.agent/", ErrBadAgentID},
		{"https://" + AgentHost("nobody") + "/", ErrTLSOverLink},
	} {
		_, err := c.Get(tc.url)
		if !errors.Is(err, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.url, err, tc.want)
		}
	}
}

func TestAgentClientFailsFastWhileDisconnected(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there: every attempt is refused
	var states []State
	var mu sync.Mutex
	a, err := NewAgent(AgentConfig{
		RelayURL:   "wss://" + addr + "/link",
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		OnState: func(s Status) { mu.Lock(); states = append(states, s.State); mu.Unlock() },
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	testtool.WaitFor(t, 5*time.Second, "a failed attempt", func() bool { return a.Status().Failures >= 2 })

	start := time.Now()
	_, err = a.Client().Get("http://relay/whoami")
	if !errors.Is(err, ErrNotConnected) {
		t.Errorf("request while disconnected: %v, want ErrNotConnected", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("request while disconnected took %v", d)
	}
	if st := a.Status(); st.LastError == nil {
		t.Errorf("status after failed attempts has no error: %+v", st)
	}
	if err := a.Run(ctx); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after cancel, want nil", err)
	}
	if st := a.Status(); st.State != StateStopped {
		t.Errorf("state after Run = %v, want stopped", st.State)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) < 3 || states[0] != StateConnecting || states[1] != StateBackoff {
		t.Errorf("states = %v, want connecting, backoff, ...", states)
	}
}

// TestLinkDropMidResponse cuts the link while the agent is half-way through a
// response: the relay's caller must get an error, not a short body that looks whole,
// and promptly (EdgeLink answers 502/503 from it).
func TestLinkDropMidResponse(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		halfway := make(chan struct{})
		release := make(chan struct{})
		mux := http.NewServeMux()
		for _, path := range []string{"/chunked", "/sized", "/raw"} {
			mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
				if path == "/sized" {
					w.Header().Set("Content-Length", "2000000")
				}
				if path == "/raw" { // a hijacked stream, as a proxied WebSocket is
					c, brw, _ := http.NewResponseController(w).Hijack()
					defer c.Close()
					brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
					brw.Write(make([]byte, 1000))
					brw.Flush()
				} else {
					w.Write(make([]byte, 1000))
					http.NewResponseController(w).Flush()
				}
				halfway <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
		}
		e := startLink(t, kind, linkOptions{relayHandler: relayTestHandler(), agentHandler: mux})
		defer close(release)
		e.waitConnected()
		var cutAt time.Time
		for _, path := range []string{"/chunked", "/sized", "/raw"} {
			if !cutAt.IsZero() {
				e.waitReconnectedSince(cutAt)
			}
			req, _ := http.NewRequest("GET", e.agentURL(path), nil)
			if path == "/raw" {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "test")
			}
			resp, err := e.relayClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			<-halfway
			cutAt = time.Now()
			e.cutAgentConn()
			start := time.Now()
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if !errors.Is(err, ErrLinkLost) {
				t.Errorf("%s: read %d bytes, then %v after the link dropped mid-response; want ErrLinkLost", path, n, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s: the error took %v", path, d)
			}
		}
	})
}

// TestRelayDropsSilentAgent checks the idle timeout in real time over every kind of
// connection (the virtual-time test uses a pipe only): an agent that stops pinging is
// dropped after the relay's IdleTimeout, and reconnects.
func TestRelayDropsSilentAgent(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		checkGoroutines(t)
		const idle = 300 * time.Millisecond
		e := startLink(t, kind, linkOptions{
			relayCfg: func(c *RelayConfig) { c.IdleTimeout = idle },
			agentCfg: func(c *AgentConfig) { c.KeepAliveInterval = time.Hour },
		})
		e.waitConnected()
		testtool.WaitFor(t, 10*time.Second, "a disconnect", func() bool { return e.events.count(EventDisconnected) > 0 })
		evs := e.events.list()
		if len(evs) < 2 || evs[0].Kind != EventConnected || evs[1].Kind != EventDisconnected {
			t.Fatalf("events = %v, want connected then disconnected", evs)
		}
		connected, ev := evs[0], evs[1]
		if !errors.Is(ev.Err, ErrIdleTimeout) {
			t.Errorf("disconnect reason %v, want ErrIdleTimeout", ev.Err)
		}
		if d := ev.Time.Sub(connected.Time); d < idle || d > idle+2*time.Second {
			t.Errorf("dropped %v after connecting, want about %v", d, idle)
		}
	})
}
