package edgelink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// minStreamWindow is yamux's initial (and smallest allowed) stream window.
const minStreamWindow = 256 << 10

// handlerGrace is how long a session that ended waits for its HTTP handlers to return
// before it stops waiting. Their streams are closed and their contexts canceled by
// then, so only a handler that ignores both takes longer.
const handlerGrace = 5 * time.Second

// RelayConfig configures a [Relay]. The zero value of every field means its default.
type RelayConfig struct {
	// Handler serves the requests agents make on the streams they open (reports,
	// events, inventory); AgentID(r.Context()) tells which agent. nil answers 404.
	Handler http.Handler

	// IdleTimeout is how long a link may stay completely silent before the relay
	// declares the agent offline and closes it. Agents ping every
	// DefaultKeepAliveInterval, so it must be longer than that. Zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration

	// WriteTimeout bounds each write to an agent's connection; an agent that does not
	// read for that long is disconnected. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// StreamWindow is the receive window of each stream agents open (see
	// DefaultStreamWindow); at least 256 KiB. Zero means DefaultStreamWindow.
	StreamWindow uint32

	// StreamStall bounds a write to a stream whose reader takes nothing (see
	// DefaultStreamStall). Zero means DefaultStreamStall.
	StreamStall time.Duration

	// OnEvent, when set, is called when an agent's link comes up or goes down, in
	// order for each agent (events of different agents may run concurrently). It runs
	// on the session's goroutine and holds up that agent's next event until it
	// returns, so it should be quick; it may call the Relay's methods.
	OnEvent func(Event)

	// Logger receives the relay's logs, under component=edgelink. nil discards them.
	Logger *slog.Logger
}

func (c *RelayConfig) validate() error {
	var errs []error
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("edgelink: RelayConfig.IdleTimeout %v is negative", c.IdleTimeout))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("edgelink: RelayConfig.WriteTimeout %v is negative", c.WriteTimeout))
	}
	if c.StreamWindow != 0 && c.StreamWindow < minStreamWindow {
		errs = append(errs, fmt.Errorf("edgelink: RelayConfig.StreamWindow %d is below the minimum %d", c.StreamWindow, minStreamWindow))
	}
	if c.StreamStall < 0 {
		errs = append(errs, fmt.Errorf("edgelink: RelayConfig.StreamStall %v is negative", c.StreamStall))
	}
	return errors.Join(errs...)
}

// Relay is the relay's end of every agent link. It does not listen on its own:
// connections are handed to it by [Relay.Accept], usually through the WebSocket
// handler from [Relay.UpgradeHandler]. It keeps one session per agent, serves
// RelayConfig.Handler on the streams agents open, and opens streams to agents with
// [Relay.Dial] and [Relay.Transport].
type Relay struct {
	handler      http.Handler
	idle         time.Duration
	writeTimeout time.Duration
	stall        time.Duration // RelayConfig.StreamStall
	onEvent      func(Event)
	log          *slog.Logger
	errorLog     *log.Logger
	ymx          *yamux.Config
	transport    *http.Transport
	upgrader     websocket.Upgrader

	mu       sync.Mutex
	agents   map[string]*agentEntry // every agent seen since New; guarded by mu
	closed   bool                   // guarded by mu
	sessions sync.WaitGroup         // Accept calls running; Add under mu while !closed
}

// agentEntry is one agent's link state. Its fields other than eventMu are guarded by
// Relay.mu.
type agentEntry struct {
	// eventMu orders the agent's state changes and their events: held from the
	// change until OnEvent returns.
	eventMu        sync.Mutex
	cur            *session
	connectedAt    time.Time
	disconnectedAt time.Time
	lastSeen       time.Time
	remote         string
}

type session struct {
	agentID string
	ymx     *yamux.Session
	conn    *watchConn
	start   time.Time
	// cancel ends the session with a cause (ErrReplaced, ErrRelayClosed).
	cancel context.CancelCauseFunc
}

// NewRelay checks cfg and makes a Relay. It starts nothing.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "edgelink")
	r := &Relay{
		handler:      cmp.Or[http.Handler](cfg.Handler, http.NotFoundHandler()),
		idle:         cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout),
		writeTimeout: cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout),
		stall:        cmp.Or(cfg.StreamStall, DefaultStreamStall),
		onEvent:      cfg.OnEvent,
		log:          logger,
		errorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		agents:       make(map[string]*agentEntry),
	}
	r.ymx = yamuxConfig(cmp.Or(cfg.StreamWindow, DefaultStreamWindow), r.writeTimeout, 0, logger)
	// Streams beyond MaxAgentStreams wait here, each with up to a window of data; more
	// are reset. Agents keep to half of MaxAgentStreams, and the other half and this
	// backlog absorb streams they closed that the relay has not seen end yet.
	r.ymx.AcceptBacklog = MaxAgentStreams
	if err := yamux.VerifyConfig(r.ymx); err != nil {
		return nil, fmt.Errorf("edgelink: yamux config: %w", err)
	}
	r.upgrader = websocket.Upgrader{
		HandshakeTimeout: r.writeTimeout,
		Subprotocols:     []string{Subprotocol},
		// yamux reads through a 4 KiB buffer of its own, and payloads larger than
		// this one are read past it, so a small one only holds frame headers: it
		// saves 3.5 KiB on every idle link and costs no measurable throughput.
		ReadBufferSize:  wsReadBufferSize,
		WriteBufferSize: wsWriteBufferSize,
		WriteBufferPool: writeBufferPool,
		// Agents never send Origin; browsers always do. Refusing it keeps a page
		// the user visits from riding a browser-held client certificate.
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
	}
	r.transport = &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			id, err := agentFromAddr(addr)
			if err != nil {
				return nil, err
			}
			return r.Dial(ctx, id)
		},
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, ErrTLSOverLink
		},
		// Proxies pass bodies through as they are; the agent compresses if it wants.
		DisableCompression: true,
		// Idle streams cost the agent a goroutine each; a few per agent serve bursts.
		MaxIdleConnsPerHost: 4,
		// Shorter than the agent server's idle timeout, so this side closes first and
		// never sends a request on a stream the agent is closing.
		IdleConnTimeout:        30 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
	return r, nil
}

type agentIDKey struct{}

// AgentID returns the ID of the agent whose stream carries the request with context
// ctx, in RelayConfig.Handler.
func AgentID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(agentIDKey{}).(string)
	return id, ok
}

// Accept takes over conn, a connection that agentID opened and that has been
// authenticated, and serves it until the session ends: until the agent goes away or
// falls silent for the idle timeout, ctx is done, a newer session of the same agent
// replaces it, or the Relay is closed. It returns nil when the agent closed the link or
// ctx was canceled, ErrReplaced, ErrRelayClosed, or why the connection failed
// (ErrIdleTimeout among others). conn is closed when Accept returns.
//
// conn is the byte stream the multiplexer runs on: a WebSocket adapted by
// UpgradeHandler in production, a net.Pipe or TCP connection in tests.
func (r *Relay) Accept(ctx context.Context, agentID string, conn net.Conn) error {
	if !ValidAgentID(agentID) {
		_ = conn.Close()
		return fmt.Errorf("%w: %q", ErrBadAgentID, agentID)
	}
	if !r.begin() {
		_ = conn.Close()
		return ErrRelayClosed
	}
	defer r.sessions.Done()
	return r.serve(ctx, agentID, conn)
}

// begin counts a session in unless the Relay is closed; the caller calls
// r.sessions.Done when the session is over.
func (r *Relay) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.sessions.Add(1)
	return true
}

// serve is Accept once the session is counted in.
func (r *Relay) serve(ctx context.Context, agentID string, conn net.Conn) error {
	wc := newWatchConn(conn, r.idle)
	ymx, err := yamux.Server(wc, r.ymx)
	if err != nil { // only for a config VerifyConfig refuses, and NewRelay checked it
		_ = conn.Close()
		return fmt.Errorf("edgelink: agent %s: %w", agentID, err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &session{agentID: agentID, ymx: ymx, conn: wc, start: time.Now(), cancel: cancel}
	// Whoever ends the session (a replacement, Close, ctx) does it through sctx, and
	// the close frame says why.
	context.AfterFunc(sctx, func() {
		wc.setCloseCode(closeCodeFor(context.Cause(sctx)))
		_ = ymx.Close()
	})
	log := r.log.With("agent", agentID, "remote", conn.RemoteAddr().String())
	r.attach(s)
	log.Info("agent connected")

	srv := &http.Server{
		Handler:           endsWithLink(sctx, r.handler),
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(sctx, agentIDKey{}, agentID) },
		ReadHeaderTimeout: 30 * time.Second,
		// Longer than the agent Transport's idle timeout: the client side closes
		// idle streams first.
		IdleTimeout: 2 * time.Minute,
		// Agents send small requests (reports); a larger head is a broken agent.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       r.errorLog,
		TLSNextProto:   noHTTP2,
	}
	_ = srv.Serve(sessionListener{ymx, r.stall, make(chan struct{}, MaxAgentStreams)}) // returns once the session is closed

	var reason error
	if sctx.Err() != nil {
		reason = context.Cause(sctx)
	} else {
		reason = endError(wc.failure())
	}
	cancel(reason)  // handlers' contexts end with the session
	_ = ymx.Close() // waits for yamux's goroutines, also when AfterFunc got there first
	graceCtx, graceCancel := context.WithTimeout(context.Background(), handlerGrace)
	if err := srv.Shutdown(graceCtx); err != nil {
		log.Warn("handlers still running after the link ended", "err", err)
		_ = srv.Close()
	}
	graceCancel()
	r.detach(s, reason)
	log.Info("agent disconnected", "after", time.Since(s.start).Round(time.Millisecond), "reason", reasonText(reason))

	if ctx.Err() != nil && !errors.Is(reason, ErrReplaced) && !errors.Is(reason, ErrRelayClosed) && !errors.Is(reason, ErrRevoked) {
		return nil // the caller stopped it: a clean stop
	}
	if reason != nil {
		return fmt.Errorf("edgelink: agent %s: %w", agentID, reason)
	}
	return nil
}

func closeCodeFor(cause error) int {
	switch {
	case errors.Is(cause, ErrReplaced):
		return CloseReplaced
	case errors.Is(cause, ErrRevoked):
		return CloseRevoked
	default:
		return websocket.CloseGoingAway
	}
}

func reasonText(err error) string {
	if err == nil {
		return "closed by the agent"
	}
	return err.Error()
}

// attach makes s the current session of its agent, ending the one it replaces.
func (r *Relay) attach(s *session) {
	r.mu.Lock()
	a := r.agents[s.agentID]
	if a == nil {
		a = &agentEntry{}
		r.agents[s.agentID] = a
	}
	r.mu.Unlock()

	a.eventMu.Lock()
	defer a.eventMu.Unlock()
	r.mu.Lock()
	old := a.cur
	a.cur, a.connectedAt, a.disconnectedAt = s, s.start, time.Time{}
	a.remote = s.conn.RemoteAddr().String()
	closed := r.closed
	r.mu.Unlock()
	if closed { // Close ran between Accept's check and here, and did not see s
		s.cancel(ErrRelayClosed)
	}
	if old != nil {
		r.log.Warn("agent connected again; closing its older session (two agents with one identity flap like this)",
			"agent", s.agentID)
		old.cancel(ErrReplaced)
	}
	r.emit(Event{Kind: EventConnected, AgentID: s.agentID, Time: s.start, RemoteAddr: a.remote})
}

// detach records that s ended; if it was still its agent's current session, the agent
// is now offline.
func (r *Relay) detach(s *session, reason error) {
	r.mu.Lock()
	a := r.agents[s.agentID]
	r.mu.Unlock()

	a.eventMu.Lock()
	defer a.eventMu.Unlock()
	now := time.Now()
	r.mu.Lock()
	current := a.cur == s
	if current {
		a.cur, a.disconnectedAt, a.lastSeen = nil, now, s.conn.lastSeen()
	}
	remote := a.remote
	r.mu.Unlock()
	if current {
		r.emit(Event{Kind: EventDisconnected, AgentID: s.agentID, Time: now, RemoteAddr: remote, Err: reason})
	}
}

func (r *Relay) emit(ev Event) {
	if r.onEvent != nil {
		r.onEvent(ev)
	}
}

// Dial opens a new stream to agentID. It fails with ErrAgentOffline (wrapped) when
// the agent has no session. Opening a stream does not wait for the agent (the open is
// sent with the first data), so ctx is only checked before; cancel a stream by closing
// it.
func (r *Relay) Dial(ctx context.Context, agentID string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("edgelink: dial agent %s: %w", agentID, err)
	}
	r.mu.Lock()
	var s *session
	if a := r.agents[agentID]; a != nil {
		s = a.cur
	}
	r.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("edgelink: dial agent %s: %w", agentID, ErrAgentOffline)
	}
	st, err := s.ymx.OpenStream()
	if err != nil {
		if s.ymx.IsClosed() || errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, yamux.ErrRemoteGoAway) {
			return nil, fmt.Errorf("edgelink: dial agent %s: %w (%v)", agentID, ErrAgentOffline, err)
		}
		return nil, fmt.Errorf("edgelink: dial agent %s: open stream: %w", agentID, err)
	}
	return newStreamConn(st, r.stall), nil
}

// Transport returns the relay's http.RoundTripper to agents, for http.Client and
// httputil.ReverseProxy. The URL host names the agent, http://<agentID>.agent/path
// (see AgentHost); the scheme is http, since the link is already TLS. A request for
// any other host fails with ErrNotAgentHost, and one for an offline agent with
// ErrAgentOffline, at once. The Transport keeps a few idle streams per agent for
// reuse; it is the same for every call.
func (r *Relay) Transport() *http.Transport { return r.transport }

// Status returns what the relay knows about agentID's link; false if the agent never
// connected since the Relay was made.
func (r *Relay) Status(agentID string) (AgentStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[agentID]
	if a == nil {
		return AgentStatus{}, false
	}
	return a.status(agentID), true
}

// Agents returns the status of every agent seen since the Relay was made, sorted by ID.
func (r *Relay) Agents() []AgentStatus {
	r.mu.Lock()
	out := make([]AgentStatus, 0, len(r.agents))
	for id, a := range r.agents {
		out = append(out, a.status(id))
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b AgentStatus) int { return strings.Compare(a.AgentID, b.AgentID) })
	return out
}

// status must be called with Relay.mu held.
func (a *agentEntry) status(id string) AgentStatus {
	st := AgentStatus{
		AgentID:        id,
		ConnectedAt:    a.connectedAt,
		DisconnectedAt: a.disconnectedAt,
		LastSeen:       a.lastSeen,
		RemoteAddr:     a.remote,
	}
	if a.cur != nil {
		st.Connected = true
		st.LastSeen = a.cur.conn.lastSeen()
		st.Streams = a.cur.ymx.NumStreams()
	}
	return st
}

// Disconnect ends agentID's session, if it has one, with ErrRevoked (close code
// CloseRevoked): the agent was deleted, and the certificate that admitted it no longer
// does. It reports whether there was a session to end.
func (r *Relay) Disconnect(agentID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[agentID]; a != nil && a.cur != nil {
		a.cur.cancel(ErrRevoked)
		return true
	}
	return false
}

// Close ends every session, waits until every Accept has returned, and makes later
// Accepts fail with ErrRelayClosed. It is safe to call more than once.
func (r *Relay) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, a := range r.agents {
			if a.cur != nil {
				a.cur.cancel(ErrRelayClosed)
			}
		}
	}
	r.mu.Unlock()
	r.sessions.Wait()
	r.transport.CloseIdleConnections()
	return nil
}

// UpgradeHandler returns the http.Handler agents dial: it checks the WebSocket
// upgrade, asks authenticate which agent this is (in production from the verified
// client certificate), checks the subprotocol, upgrades, and serves the session as
// Accept does. It returns once the connection is upgraded; the session goes on until
// the agent leaves or Close (the request's cancellation does not reach it: a server's
// Shutdown leaves upgraded connections alone, so the relay calls Close). authenticate's
// error is logged, not shown: the agent gets 403.
func (r *Relay) UpgradeHandler(authenticate func(*http.Request) (agentID string, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !websocket.IsWebSocketUpgrade(req) {
			w.Header().Set("Upgrade", "websocket")
			http.Error(w, "edgelink: this endpoint takes a WebSocket upgrade", http.StatusUpgradeRequired)
			return
		}
		agentID, err := authenticate(req)
		if err == nil && !ValidAgentID(agentID) {
			err = fmt.Errorf("%w: %q", ErrBadAgentID, agentID)
		}
		if err != nil {
			r.log.Info("agent link refused", "remote", req.RemoteAddr, "err", err)
			http.Error(w, "edgelink: not an authorized agent", http.StatusForbidden)
			return
		}
		if !slices.Contains(websocket.Subprotocols(req), Subprotocol) {
			r.log.Info("agent link refused: no common subprotocol", "agent", agentID,
				"offered", req.Header.Get("Sec-WebSocket-Protocol"))
			http.Error(w, fmt.Sprintf("edgelink: this relay speaks WebSocket subprotocol %s (edgelink protocol version %d)",
				Subprotocol, ProtocolVersion), http.StatusBadRequest)
			return
		}
		ws, err := r.upgrader.Upgrade(w, req, nil)
		if err != nil {
			return // the upgrader has answered the agent
		}
		conn := newWSConn(ws, r.writeTimeout)
		if !r.begin() {
			conn.setCloseCode(websocket.CloseGoingAway)
			_ = conn.Close()
			return
		}
		// The session runs on a goroutine of its own, owned by the Relay (Close ends
		// it and waits for it), and the handler returns: net/http then lets go of the
		// hijacked connection's buffers and the request, some 8 KiB per idle link.
		// The request's context ends when the handler returns, so only its values
		// are kept.
		ctx := context.WithoutCancel(req.Context())
		go func() {
			defer r.sessions.Done()
			if err := r.serve(ctx, agentID, conn); err != nil {
				r.log.Debug("agent link ended", "agent", agentID, "err", err)
			}
		}()
	})
}
