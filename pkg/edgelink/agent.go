package edgelink

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// Backoff defaults: the first retry comes within a quarter second, and an agent that
// cannot reach its relay tries at least every five seconds, so that after a relay
// restart every agent is back within seconds (issue 4 asks for 10 s), while the jitter
// spreads a fleet's reconnects out.
const (
	DefaultBackoffMin = 250 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
	// stableAfter is how long a link must last for the backoff to start over: a relay
	// that accepts and then drops agents at once must not be hammered.
	stableAfter = 10 * time.Second
)

// AgentConfig configures an [Agent]. The zero value of every field but RelayURL means
// its default.
type AgentConfig struct {
	// RelayURL is the relay's link endpoint, wss://host[:port]/path. ws:// is
	// accepted only for a loopback host (tests and local development).
	RelayURL string

	// TLSConfig holds the agent's client certificate and the CA that signs the
	// relay's certificate. nil means the system roots and no client certificate,
	// which a relay refuses.
	TLSConfig *tls.Config

	// Handler serves the requests the relay makes on the streams it opens (EdgeLink,
	// WHEP signaling, task dispatch). Request contexts end when Run's context does or
	// the link drops. nil answers 404.
	Handler http.Handler

	// BackoffMin and BackoffMax bound the wait between attempts: it doubles from
	// BackoffMin after each failure up to BackoffMax, each wait drawn from
	// [d/2, d), and starts over after a link that lasted 10 s. Zero means
	// DefaultBackoffMin and DefaultBackoffMax.
	BackoffMin, BackoffMax time.Duration

	// KeepAliveInterval is how often the agent pings the relay. A relay that does not
	// answer within WriteTimeout is given up on. It must be well under the relay's
	// idle timeout (DefaultIdleTimeout). Zero means DefaultKeepAliveInterval.
	KeepAliveInterval time.Duration

	// WriteTimeout bounds each write to the connection and the wait for a ping's
	// answer. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// HandshakeTimeout bounds the TCP, TLS and WebSocket handshakes. Zero means 10 s.
	HandshakeTimeout time.Duration

	// StreamWindow is the receive window of each stream the relay opens (see
	// DefaultStreamWindow); at least 256 KiB. Zero means DefaultStreamWindow.
	StreamWindow uint32

	// StreamStall bounds a write to a stream whose reader takes nothing (see
	// DefaultStreamStall). Zero means DefaultStreamStall.
	StreamStall time.Duration

	// Header is added to the WebSocket handshake request (User-Agent, for one).
	Header http.Header

	// Proxy chooses an HTTP proxy for the connection to the relay, as
	// http.Transport.Proxy does. nil means a direct connection.
	Proxy func(*http.Request) (*url.URL, error)

	// OnState, when set, is called with every change of Status, from Run's goroutine;
	// it must not block.
	OnState func(Status)

	// Logger receives the agent's logs, under component=edgelink. nil discards them.
	Logger *slog.Logger
}

func (c *AgentConfig) validate() error {
	var errs []error
	u, err := url.Parse(c.RelayURL)
	switch {
	case c.RelayURL == "":
		errs = append(errs, errors.New("edgelink: AgentConfig.RelayURL is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("edgelink: AgentConfig.RelayURL: %w", err))
	case u.Scheme == "wss":
	case u.Scheme == "ws" && isLoopbackHost(u.Hostname()):
	case u.Scheme == "ws":
		errs = append(errs, fmt.Errorf("edgelink: AgentConfig.RelayURL %q: ws:// only for a loopback host; use wss://", c.RelayURL))
	default:
		errs = append(errs, fmt.Errorf("edgelink: AgentConfig.RelayURL %q: scheme must be wss", c.RelayURL))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"BackoffMin", c.BackoffMin}, {"BackoffMax", c.BackoffMax}, {"KeepAliveInterval", c.KeepAliveInterval},
		{"WriteTimeout", c.WriteTimeout}, {"HandshakeTimeout", c.HandshakeTimeout}, {"StreamStall", c.StreamStall},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("edgelink: AgentConfig.%s %v is negative", d.name, d.v))
		}
	}
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		errs = append(errs, fmt.Errorf("edgelink: AgentConfig.BackoffMin %v is above BackoffMax %v", c.BackoffMin, c.BackoffMax))
	}
	if c.StreamWindow != 0 && c.StreamWindow < minStreamWindow {
		errs = append(errs, fmt.Errorf("edgelink: AgentConfig.StreamWindow %d is below the minimum %d", c.StreamWindow, minStreamWindow))
	}
	return errors.Join(errs...)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Agent is the agent's end of the link: Run keeps one connection to the relay up,
// serves AgentConfig.Handler on the streams the relay opens, and Client sends requests
// to the relay over new streams.
type Agent struct {
	relayURL     string
	handler      http.Handler
	backoffMin   time.Duration
	backoffMax   time.Duration
	writeTimeout time.Duration
	stall        time.Duration // AgentConfig.StreamStall
	onState      func(Status)
	log          *slog.Logger
	errorLog     *log.Logger
	ymx          *yamux.Config
	dialer       websocket.Dialer
	header       http.Header
	client       *http.Client

	// dial opens the connection the session runs on; a WebSocket to relayURL, or in
	// tests whatever the test needs.
	dial func(ctx context.Context) (net.Conn, error)

	running atomic.Bool

	mu        sync.Mutex
	status    Status         // guarded by mu
	sess      *yamux.Session // the current session, nil when not connected; guarded by mu
	connected chan struct{}  // closed while connected, replaced on disconnect; guarded by mu
}

// NewAgent checks cfg and makes an Agent. It starts nothing.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "edgelink")
	a := &Agent{
		relayURL:     cfg.RelayURL,
		handler:      cmp.Or[http.Handler](cfg.Handler, http.NotFoundHandler()),
		backoffMin:   cmp.Or(cfg.BackoffMin, DefaultBackoffMin),
		backoffMax:   cmp.Or(cfg.BackoffMax, DefaultBackoffMax),
		writeTimeout: cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout),
		stall:        cmp.Or(cfg.StreamStall, DefaultStreamStall),
		onState:      cfg.OnState,
		log:          logger,
		errorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		header:       cfg.Header.Clone(),
		connected:    make(chan struct{}),
	}
	a.backoffMax = max(a.backoffMax, a.backoffMin)
	a.ymx = yamuxConfig(cmp.Or(cfg.StreamWindow, DefaultStreamWindow), a.writeTimeout,
		cmp.Or(cfg.KeepAliveInterval, DefaultKeepAliveInterval), logger)
	if err := yamux.VerifyConfig(a.ymx); err != nil {
		return nil, fmt.Errorf("edgelink: yamux config: %w", err)
	}
	a.dialer = websocket.Dialer{
		Proxy:            cfg.Proxy,
		TLSClientConfig:  cfg.TLSConfig,
		HandshakeTimeout: cmp.Or(cfg.HandshakeTimeout, 10*time.Second),
		Subprotocols:     []string{Subprotocol},
		// The agent holds one link: a larger read buffer costs little and saves
		// system calls on small frames.
		ReadBufferSize:  32 << 10,
		WriteBufferSize: wsWriteBufferSize,
		WriteBufferPool: writeBufferPool,
	}
	a.dial = a.dialWebSocket
	a.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return a.openStream(ctx) },
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, ErrTLSOverLink
		},
		MaxIdleConnsPerHost: 4,
		// The relay serves MaxAgentStreams of an agent's streams at once: more requests
		// wait here rather than being reset there.
		MaxConnsPerHost:        MaxAgentStreams / 2,
		IdleConnTimeout:        30 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}}
	a.status = Status{State: StateUnknown, Since: time.Now()}
	return a, nil
}

// Client returns the client for requests to the relay: each request goes over a stream
// of the current link, whatever host its URL names (http://relay/path by convention;
// the scheme is http, since the link is already TLS). While the agent is not connected,
// requests fail at once with ErrNotConnected. The client has no timeout of its own:
// use request contexts.
func (a *Agent) Client() *http.Client { return a.client }

// Status returns a snapshot of the link.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// WaitConnected blocks until the link is up or ctx is done.
func (a *Agent) WaitConnected(ctx context.Context) error {
	a.mu.Lock()
	ch := a.connected
	a.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Agent) openStream(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	if sess == nil {
		return nil, ErrNotConnected
	}
	st, err := sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotConnected, err)
	}
	return newStreamConn(st, a.stall), nil
}

// Run connects to the relay and serves it, reconnecting with jittered exponential
// backoff whenever the connection fails or drops, until ctx is done; then it closes
// the link, waits for everything it started, and returns nil. It returns
// ErrAlreadyRunning if Run is already running.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer a.running.Store(false)
	defer a.client.CloseIdleConnections()

	failures := 0
	for {
		a.setState(func(s *Status) { s.State, s.NextAttempt = StateConnecting, time.Time{} })
		upFor, err := a.connectAndServe(ctx)
		if ctx.Err() != nil {
			a.setState(func(s *Status) { s.State, s.LastError = StateStopped, nil })
			return nil
		}
		if upFor >= stableAfter {
			failures = 0
		}
		failures++
		delay := backoff(a.backoffMin, a.backoffMax, failures)
		a.log.Info("link down; retrying", "err", err, "in", delay.Round(time.Millisecond), "failures", failures)
		a.setState(func(s *Status) {
			s.State, s.Failures, s.LastError, s.NextAttempt = StateBackoff, failures, err, time.Now().Add(delay)
		})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			a.setState(func(s *Status) { s.State, s.NextAttempt = StateStopped, time.Time{} })
			return nil
		}
	}
}

// backoff is the wait before attempt number failures+1: d = min·2^(failures-1) capped
// at max, drawn from [d/2, d) so that agents dropped together do not return together.
func backoff(minDelay, maxDelay time.Duration, failures int) time.Duration {
	d := maxDelay
	if shift := failures - 1; shift < 32 && minDelay<<shift < maxDelay && minDelay<<shift > 0 {
		d = minDelay << shift
	}
	half := d / 2
	return half + rand.N(d-half)
}

// connectAndServe dials, serves the session until it ends, and returns how long the
// link was up and why it ended (nil for a clean close by the relay).
func (a *Agent) connectAndServe(ctx context.Context) (time.Duration, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return 0, err
	}
	wc := newWatchConn(conn, 0)
	sess, err := yamux.Client(wc, a.ymx)
	if err != nil { // only for a config VerifyConfig refuses, and NewAgent checked it
		_ = conn.Close()
		return 0, fmt.Errorf("edgelink: %w", err)
	}
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() }) // sends close 1000
	defer stop()

	a.mu.Lock()
	a.sess = sess
	close(a.connected)
	a.mu.Unlock()
	a.setState(func(s *Status) { s.State, s.ConnectedAt, s.LastError = StateConnected, start, nil })
	a.log.Info("link up", "relay", a.relayURL, "remote", conn.RemoteAddr().String())

	// Requests end with the link, not only with Run.
	sctx, cancel := context.WithCancel(ctx)
	srv := &http.Server{
		Handler:           endsWithLink(sctx, a.handler),
		BaseContext:       func(net.Listener) context.Context { return sctx },
		ReadHeaderTimeout: 30 * time.Second,
		// Longer than the relay Transport's idle timeout: it closes idle streams first.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
		ErrorLog:       a.errorLog,
		TLSNextProto:   noHTTP2,
	}
	_ = srv.Serve(sessionListener{sess, a.stall, nil})
	upFor := time.Since(start)
	cancel()
	_ = sess.Close()

	a.mu.Lock()
	a.sess = nil
	a.connected = make(chan struct{})
	a.mu.Unlock()
	a.setState(func(s *Status) { s.State, s.ConnectedAt = StateBackoff, time.Time{} })

	graceCtx, graceCancel := context.WithTimeout(context.Background(), handlerGrace)
	if err := srv.Shutdown(graceCtx); err != nil {
		a.log.Warn("handlers still running after the link ended", "err", err)
		_ = srv.Close()
	}
	graceCancel()
	a.client.CloseIdleConnections()
	return upFor, endError(wc.failure())
}

func (a *Agent) setState(f func(*Status)) {
	a.mu.Lock()
	prev := a.status.State
	f(&a.status)
	if a.status.State != prev {
		a.status.Since = time.Now()
	}
	s := a.status
	a.mu.Unlock()
	if a.onState != nil {
		a.onState(s)
	}
}

// dialWebSocket opens the link's WebSocket to the relay.
func (a *Agent) dialWebSocket(ctx context.Context) (net.Conn, error) {
	ws, resp, err := a.dialer.DialContext(ctx, a.relayURL, a.header)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(body))}
		}
		return nil, fmt.Errorf("edgelink: dial %s: %w", a.relayURL, err)
	}
	if ws.Subprotocol() != Subprotocol {
		_ = ws.Close()
		return nil, fmt.Errorf("%w (it selected %q)", ErrSubprotocol, ws.Subprotocol())
	}
	_ = resp.Body.Close()
	return newWSConn(ws, a.writeTimeout), nil
}
