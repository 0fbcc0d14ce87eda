package edgelink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// The wire contract. PROTOCOL.md describes each of these and TestProtocolDoc keeps the
// two in agreement: change one, change both.
const (
	// ProtocolVersion is the edgelink protocol version this package speaks. A
	// version changes only for an incompatible change to the framing or to who opens
	// which streams; new HTTP routes on the streams need no new version.
	ProtocolVersion = 1

	// Subprotocol is the WebSocket subprotocol (Sec-WebSocket-Protocol) of
	// ProtocolVersion. The agent offers it and the relay must select it.
	Subprotocol = "camcloud-edgelink.v1"

	// DefaultKeepAliveInterval is how often the agent pings the relay (a yamux ping).
	DefaultKeepAliveInterval = 10 * time.Second

	// DefaultIdleTimeout is how long the relay waits without receiving a single byte
	// before it declares the agent offline: three missed keepalive pings.
	DefaultIdleTimeout = 30 * time.Second

	// DefaultWriteTimeout bounds one write to the connection, and is how long the agent
	// waits for the answer to a keepalive ping. A dead relay is noticed by the agent
	// within DefaultKeepAliveInterval + DefaultWriteTimeout.
	DefaultWriteTimeout = 10 * time.Second

	// DefaultStreamWindow is the largest receive window of one stream: how many bytes
	// a sender may have in flight on one stream before the receiver reads them. It
	// bounds throughput per stream on a long path (window / RTT: 1 MiB at 50 ms RTT is
	// about 20 MB/s) and memory per stream on the receiving side (yamux's receive
	// buffer grows to about three windows when the reader is slow). On loopback a
	// larger window gains nothing measurable.
	DefaultStreamWindow = 1 << 20

	// MaxFrame is the largest yamux data frame body this package sends. yamux keeps
	// the send buffer of its largest frame for the life of a session, so the cap bounds
	// what an idle link holds after a transfer. With its yamux header (12 bytes) and its
	// WebSocket header (at most 8 bytes at this size, mask included) a full frame is
	// exactly 64 KiB, four full TLS records: 64 KiB of body would spill 20 bytes into a
	// fifth record, one more encryption and write system call per frame.
	MaxFrame = 64<<10 - yamuxHeaderSize - maxWSHeaderSize

	// DefaultStreamStall is how long a write to a stream may wait for its reader to take
	// anything (to open the stream's window) before the stream fails: a peer that
	// stops reading one stream while keeping the link alive must not hold the writer
	// (a handler, a file, a goroutine) for as long as the link lasts.
	DefaultStreamStall = time.Minute

	// MaxAgentStreams is how many streams an agent opens that the relay serves at once;
	// more wait for a slot, and beyond a short backlog are reset. It bounds what one
	// agent can make the relay hold (each stream's receive buffer and request head).
	// Agents keep well under it.
	MaxAgentStreams = 64

	// AgentHostSuffix makes a URL host name an agent for the relay's Transport:
	// http://<agentID>.agent/path is a request to agentID over its link.
	AgentHostSuffix = ".agent"
)

// WebSocket close codes the link uses besides the standard ones (1000 normal, 1001
// going away, 1002 protocol error, 1003 unsupported data). 4000-4999 are for
// applications (RFC 6455 section 7.4.2).
const (
	// CloseReplaced: the relay closes an older session of an agent that connected again.
	CloseReplaced = 4000
	// CloseRevoked: the relay ends the session of an agent that was deleted; it will
	// not be admitted again.
	CloseRevoked = 4001
)

// agentIDPattern is the shape of agent IDs: the same as the relay's certificate
// identities (internal/relay/pki), and valid as a DNS label sequence so that
// AgentHost(id) is a valid URL host.
var agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidAgentID reports whether id has the shape of an agent ID: 1 to 128 letters,
// digits, '_', '.' and '-', starting with a letter or digit.
func ValidAgentID(id string) bool { return agentIDPattern.MatchString(id) }

// AgentHost is the URL host that names agentID for [Relay.Transport]:
// "http://" + AgentHost(id) + "/path".
func AgentHost(agentID string) string { return agentID + AgentHostSuffix }

// agentFromAddr is the inverse of AgentHost for a dial address ("host:port").
func agentFromAddr(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	id, ok := strings.CutSuffix(host, AgentHostSuffix)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrNotAgentHost, host)
	}
	if !ValidAgentID(id) {
		return "", fmt.Errorf("%w: %q", ErrBadAgentID, id)
	}
	return id, nil
}

// yamuxConfig is the multiplexer configuration of both ends. keepAlive zero disables
// yamux's own pings: the relay does not ping (10,000 idle links would each need a
// goroutine and a timer for it) and notices silence with a read deadline instead
// (watchConn); the agent pings.
func yamuxConfig(window uint32, writeTimeout, keepAlive time.Duration, log *slog.Logger) *yamux.Config {
	return &yamux.Config{
		// Streams opened by the peer and not yet accepted. Accepting is a tight loop
		// (http.Server.Serve), so a small backlog suffices; each slot is a pointer in
		// a channel buffer that every idle link carries.
		AcceptBacklog:   128,
		EnableKeepAlive: keepAlive > 0,
		// yamux insists on a positive interval even when keepalives are off.
		KeepAliveInterval:      cmpOr(keepAlive, time.Hour),
		ConnectionWriteTimeout: writeTimeout,
		MaxStreamWindowSize:    window,
		// A peer that does not acknowledge a new stream within this time is wedged;
		// yamux then closes the whole session, and the agent reconnects.
		StreamOpenTimeout: 30 * time.Second,
		// How long a half-closed stream waits for the peer's FIN before it is reset.
		StreamCloseTimeout: streamCloseTimeout,
		Logger:             yamuxLogger{log},
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// yamuxLogger sends yamux's printf-style log lines to slog. They are mostly the noise of
// connections ending ("Failed to read header: EOF"), so they go to Debug, except a full
// accept backlog, which means streams are being refused.
type yamuxLogger struct{ log *slog.Logger }

func (l yamuxLogger) Print(v ...any)                 { l.emit(fmt.Sprint(v...)) }
func (l yamuxLogger) Println(v ...any)               { l.emit(fmt.Sprintln(v...)) }
func (l yamuxLogger) Printf(format string, v ...any) { l.emit(fmt.Sprintf(format, v...)) }

func (l yamuxLogger) emit(msg string) {
	msg = strings.TrimSpace(msg)
	level := slog.LevelDebug
	if strings.Contains(msg, "backlog exceeded") {
		level = slog.LevelWarn
	}
	// yamux's logger interface carries no context.
	l.log.Log(context.Background(), level, msg, "src", "yamux")
}

// wsConn is a WebSocket carrying binary messages as a net.Conn byte stream: yamux frames
// are written one per message (with the header coalesced into its body), and reads
// run across message boundaries, so neither side depends on how the other splits the
// stream. Control frames are handled by gorilla inside NextReader; a text message, a
// malformed frame or a close frame ends the stream with an error (io.EOF for a normal
// close), and the error is sticky: gorilla panics on the thousandth read after a failure,
// so a failed wsConn never calls it again.
type wsConn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration

	rmu  sync.Mutex // serializes readers; guards r and rerr
	r    io.Reader  // the current message, nil between messages
	rerr error

	wmu       sync.Mutex // one writer at a time, as gorilla requires; guards the fields below
	wdeadline time.Time  // set by SetWriteDeadline; zero means now+writeTimeout per write
	held      [yamuxHeaderSize]byte
	holding   bool

	closeOnce sync.Once
	closeCode atomic.Int32 // the close code Close sends; 0 means 1000
}

const yamuxHeaderSize = 12

// maxWSHeaderSize is the WebSocket frame header of a message of 126 to 65,535 bytes as
// a client sends it: 2 bytes, a 16-bit length and a 4-byte mask (RFC 6455 section 5.2).
const maxWSHeaderSize = 2 + 2 + 4

func newWSConn(ws *websocket.Conn, writeTimeout time.Duration) *wsConn {
	return &wsConn{ws: ws, writeTimeout: writeTimeout}
}

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rerr != nil {
		return 0, c.rerr
	}
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				c.rerr = readError(err)
				return 0, c.rerr
			}
			if typ != websocket.BinaryMessage {
				c.rerr = ErrUnexpectedMessage
				c.setCloseCode(websocket.CloseUnsupportedData)
				// Close so that the peer learns why at once; yamux closes the session
				// when this read fails anyway.
				_ = c.Close()
				return 0, c.rerr
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue // empty message, or the end of one: go on with the next
			}
			err = nil
		}
		if err != nil {
			c.rerr = readError(err)
		}
		return n, c.rerr
	}
}

// readError maps a normal WebSocket close to io.EOF, as a TCP FIN would be, and wraps
// the rest.
func readError(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return io.EOF
	}
	return fmt.Errorf("edgelink: read: %w", err)
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// yamux writes a data frame as its 12-byte header, then the body, from one
	// goroutine (the session's send loop). Holding such a header until its body comes
	// makes one WebSocket message, one TLS write, per frame instead of two. Anything
	// else (window updates, pings: a header without a body) goes out as it is.
	if !c.holding && len(p) == yamuxHeaderSize && isDataHeader(p) {
		copy(c.held[:], p)
		c.holding = true
		return len(p), nil
	}
	deadline := c.wdeadline
	if deadline.IsZero() && c.writeTimeout > 0 {
		deadline = time.Now().Add(c.writeTimeout)
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return 0, fmt.Errorf("edgelink: write: %w", err)
	}
	var err error
	if c.holding {
		c.holding = false
		err = c.writeMessage(c.held[:], p)
	} else {
		err = c.writeMessage(p)
	}
	if err != nil {
		return 0, fmt.Errorf("edgelink: write: %w", err)
	}
	return len(p), nil
}

// isDataHeader reports whether h is a yamux header (version 0) of a data frame
// (type 0) with a body.
func isDataHeader(h []byte) bool {
	return h[0] == 0 && h[1] == 0 && (h[8]|h[9]|h[10]|h[11]) != 0
}

func (c *wsConn) writeMessage(parts ...[]byte) error {
	if len(parts) == 1 {
		return c.ws.WriteMessage(websocket.BinaryMessage, parts[0])
	}
	w, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}

func (c *wsConn) setCloseCode(code int) { c.closeCode.CompareAndSwap(0, int32(code)) }

// Close sends a close frame (the code set by setCloseCode, else 1000) and closes the
// connection. It is safe to call from any goroutine, more than once.
func (c *wsConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		code := int(c.closeCode.Load())
		if code == 0 {
			code = websocket.CloseNormalClosure
		}
		// Best effort and bounded: a peer that does not read must not hold up Close.
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""),
			time.Now().Add(time.Second))
		err = c.ws.Close()
	})
	return err
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *wsConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	c.wdeadline = t
	c.wmu.Unlock()
	return nil
}

// closeCoder is a connection that can be told which WebSocket close code to send.
type closeCoder interface{ setCloseCode(code int) }

// writeBufferPool lends gorilla its write buffers only while a message is being
// written, so that an idle link holds none. One buffer takes a whole frame (MaxFrame
// plus the yamux and WebSocket headers), so a frame is one write to TLS.
var writeBufferPool = &sync.Pool{}

// wsWriteBufferSize is the size gorilla is told to allocate for writeBufferPool.
const wsWriteBufferSize = MaxFrame + yamuxHeaderSize

// wsReadBufferSize is the relay's WebSocket read buffer (see Relay.upgrader).
const wsReadBufferSize = 512

// noHTTP2 keeps the servers on streams at HTTP/1.1 (the protocol) and spares each
// session's http.Server the HTTP/2 set-up it would otherwise allocate.
var noHTTP2 = map[string]func(*http.Server, *tls.Conn, http.Handler){}

// watchConn records what the session above it needs to know about the connection: when
// a byte last arrived (the agent's last-seen time), and why it failed. With idle set,
// each Read carries a deadline of idle from now, so a peer that goes silent without
// closing (a cut cable, a host that froze) fails the session after idle.
type watchConn struct {
	net.Conn
	idle     time.Duration
	lastRead atomic.Int64 // UnixNano of the last Read that returned data
	err      atomic.Pointer[error]
}

func newWatchConn(c net.Conn, idle time.Duration) *watchConn {
	w := &watchConn{Conn: c, idle: idle}
	w.lastRead.Store(time.Now().UnixNano())
	return w
}

func (c *watchConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
			c.fail(err)
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	if err != nil {
		// gorilla rebuilds net errors as its own type, dropping the wrapped
		// os.ErrDeadlineExceeded, but keeps Timeout(); the only deadline here is ours.
		var ne net.Error
		if c.idle > 0 && (errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
			err = fmt.Errorf("%w (%v)", ErrIdleTimeout, c.idle)
			c.setCloseCode(websocket.CloseGoingAway) // yamux closes the conn before serve can say why
		}
		c.fail(err)
	}
	return n, err
}

func (c *watchConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

func (c *watchConn) fail(err error) { c.err.CompareAndSwap(nil, &err) }

// failure is the first error the connection returned, nil if none.
func (c *watchConn) failure() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *watchConn) lastSeen() time.Time { return time.Unix(0, c.lastRead.Load()) }

func (c *watchConn) setCloseCode(code int) {
	if cc, ok := c.Conn.(closeCoder); ok {
		cc.setCloseCode(code)
	}
}

// endError is why a connection ended, from its first error: nil for a clean end (the
// peer closed it), the error otherwise.
func endError(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// streamConn is a yamux stream as the net.Conn the HTTP client and server use. It
// reports a stream cut short by the session's end as ErrLinkLost rather than io.EOF
// (a FIN that arrived just before the link died reads as ErrLinkLost too; the
// reverse, a lost link passing for a clean end, is the worse mistake), caps frames at
// MaxFrame, and gives the standard library's copies (request bodies in
// http.Transport, io.Copy into a ResponseWriter) a ReadFrom with frame-sized buffers:
// without it they copy through 4 KiB bufio buffers, and every 4 KiB becomes a frame.
//
// With stall set, a write waits at most that long (at least three quarters of it) for
// the peer to open the stream's window (see DefaultStreamStall). It moves the stream's
// write deadline (the HTTP servers and clients on links set none of their own) at most
// every quarter of stall: setting it costs an allocation and wakes yamux's writer, a
// fifth of the link's throughput when done for every frame.
type streamConn struct {
	*yamux.Stream
	stall time.Duration
	setAt *atomic.Int64 // UnixNano of the last deadline set
}

func newStreamConn(st *yamux.Stream, stall time.Duration) streamConn {
	return streamConn{Stream: st, stall: stall, setAt: new(atomic.Int64)}
}

func (c streamConn) Read(p []byte) (int, error) {
	n, err := c.Stream.Read(p)
	if errors.Is(err, io.EOF) && c.Session().IsClosed() {
		err = ErrLinkLost
	}
	return n, err
}

func (c streamConn) Write(p []byte) (int, error) {
	var total int
	for len(p) > 0 {
		if c.stall > 0 {
			if now := time.Now(); now.UnixNano()-c.setAt.Load() > int64(c.stall/4) {
				c.setAt.Store(now.UnixNano())
				_ = c.Stream.SetWriteDeadline(now.Add(c.stall))
			}
		}
		n, err := c.Stream.Write(p[:min(len(p), MaxFrame)])
		total += n
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	return total, nil
}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, MaxFrame); return &b }}

func (c streamConn) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{c}, r, *bp)
}

// endsWithLink wraps the handler of a link's streams. linkCtx ends when the link goes
// down or is shut down, and the requests' contexts with it: a handler still running
// then has been cut short, and when it returns without having answered (as
// httputil.ReverseProxy's error handlers do for a cancelled request), net/http would
// finish the answer as 200 with an empty body, which the peer may still read before
// the session closes and take for a success. So once linkCtx is done, a returning
// handler aborts its stream instead (http.ErrAbortHandler): what was not yet sent is
// dropped, and the peer sees the answer break off.
func endsWithLink(linkCtx context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if linkCtx.Err() != nil {
			panic(http.ErrAbortHandler)
		}
	})
}

// sessionListener serves a session's incoming streams to an http.Server. Closing it
// closes nothing: the session belongs to whoever made it. With slots, at most
// cap(slots) streams are served at once: Accept waits for one to close.
type sessionListener struct {
	sess  *yamux.Session
	stall time.Duration
	slots chan struct{} // nil: no bound
}

func (l sessionListener) Accept() (net.Conn, error) {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-l.sess.CloseChan():
			return nil, yamux.ErrSessionShutdown
		}
	}
	st, err := l.sess.AcceptStream()
	if err != nil {
		if l.slots != nil {
			<-l.slots
		}
		return nil, err
	}
	c := newStreamConn(st, l.stall)
	if l.slots == nil {
		return c, nil
	}
	return &slotConn{streamConn: c, slots: l.slots}, nil
}

// streamCloseTimeout is how long a stream closed on this side waits for the peer's end
// before yamux resets it.
const streamCloseTimeout = time.Minute

// slotConn is a stream that holds one of its listener's slots until it has ended both
// ways. Closing it only ends this side; until the peer ends its side too, what the peer
// still sends is read and dropped (so that it is not kept), and the slot stays taken:
// a peer that never ends its streams cannot make the relay hold more than the slots.
type slotConn struct {
	streamConn
	slots chan struct{}
	once  sync.Once
}

func (c *slotConn) Close() error {
	err := c.streamConn.Close()
	c.once.Do(func() {
		go func() { // ends at the peer's end, a reset, or when yamux gives up on it
			defer func() { <-c.slots }()
			_ = c.Stream.SetReadDeadline(time.Now().Add(streamCloseTimeout))
			_, _ = io.Copy(io.Discard, c.Stream)
		}()
	})
	return err
}

func (l sessionListener) Close() error   { return nil }
func (l sessionListener) Addr() net.Addr { return l.sess.Addr() }
