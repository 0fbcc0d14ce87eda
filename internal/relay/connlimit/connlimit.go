// Package connlimit keeps a server reachable while someone holds connections open to
// starve it. It wraps the listener: every accepted connection is anonymous until the
// request handler proves who is on it (a valid bearer token, an agent certificate, a
// successful sign-in). Anonymous connections are bounded per source address and in
// total; when a bound is reached the oldest anonymous connection is closed to make room
// for the new one, so a stalled connection can never keep a newer caller out. All
// connections together stay below the process's file descriptor limit minus a reserve,
// so the server always has descriptors for its database, logs and outbound calls.
//
// Proven connections are never shed: their callers are known and accountable. Deadlines
// on headers and bodies (http.Server.ReadHeaderTimeout and package api's body deadline)
// end what stalls on a connection; this package decides who gets a connection at all.
package connlimit

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// Defaults for Config's zero values.
const (
	DefaultReserve             = 256
	DefaultMaxAnonymous        = 4096
	DefaultMaxAnonymousPerAddr = 128
)

const (
	minConns       = 64
	ipv6PrefixBits = 64

	reasonAddressLimit   = "address"
	reasonAnonymousLimit = "anonymous"
	reasonTotalLimit     = "total"
	reasonNoRoom         = "full"
)

// Config bounds the connections a Listener keeps open. Zero values take the defaults.
type Config struct {
	// MaxConns bounds every open connection, proven or not. 0: the process's file
	// descriptor limit (RLIMIT_NOFILE) minus Reserve.
	MaxConns int
	// Reserve is how many file descriptors are kept free for everything but client
	// connections when MaxConns is derived from the limit. 0: DefaultReserve.
	Reserve int
	// MaxAnonymous bounds connections no request has yet proven; at most half of
	// MaxConns. 0: DefaultMaxAnonymous.
	MaxAnonymous int
	// MaxAnonymousPerAddr bounds anonymous connections from one source address (one
	// /64 for IPv6, where a single host holds a whole prefix). 0:
	// DefaultMaxAnonymousPerAddr.
	MaxAnonymousPerAddr int
	// OnShed, when set, is called with the reason whenever a connection is closed to
	// make room ("address", "anonymous", "total") or refused ("full"). It must not
	// block.
	OnShed func(reason string)
}

// Listener is a net.Listener that applies Config. Its connections report whether they
// are proven; Prove marks them.
type Listener struct {
	net.Listener
	cfg Config

	mu        sync.Mutex
	open      int
	anonymous *list.List            // of *Conn, oldest first
	bySource  map[string]*list.List // of *Conn, oldest first
}

// NewListener wraps ln. It fails only when the file descriptor limit cannot be read and
// MaxConns is not given.
func NewListener(ln net.Listener, cfg Config) (*Listener, error) {
	if cfg.Reserve <= 0 {
		cfg.Reserve = DefaultReserve
	}
	if cfg.MaxConns <= 0 {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return nil, fmt.Errorf("connlimit: read the file descriptor limit: %w", err)
		}
		cfg.MaxConns = int(min(lim.Cur, 1<<30)) - cfg.Reserve
	}
	if cfg.MaxConns < minConns {
		return nil, fmt.Errorf("connlimit: room for %d connections is too little: raise the file descriptor limit (ulimit -n) or lower the reserve", cfg.MaxConns)
	}
	if cfg.MaxAnonymous <= 0 {
		cfg.MaxAnonymous = DefaultMaxAnonymous
	}
	cfg.MaxAnonymous = min(cfg.MaxAnonymous, cfg.MaxConns/2)
	if cfg.MaxAnonymousPerAddr <= 0 {
		cfg.MaxAnonymousPerAddr = DefaultMaxAnonymousPerAddr
	}
	cfg.MaxAnonymousPerAddr = min(cfg.MaxAnonymousPerAddr, cfg.MaxAnonymous)
	return &Listener{Listener: ln, cfg: cfg, anonymous: list.New(), bySource: map[string]*list.List{}}, nil
}

// Limits returns the bounds in force (defaults and the descriptor limit applied).
func (l *Listener) Limits() Config { return l.cfg }

// Stats is a snapshot of the connections held.
type Stats struct {
	Open, Anonymous int
}

// Stats counts the connections held now.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.open, Anonymous: l.anonymous.Len()}
}

// Accept waits for a connection and admits it, closing older anonymous connections to
// make room when a bound is reached. A connection that cannot be admitted at all (every
// slot held by a proven one) is closed at once and Accept waits for the next.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := l.admit(c); gc != nil {
			return gc, nil
		}
	}
}

// admit registers c, or closes it and returns nil when there is no room.
func (l *Listener) admit(c net.Conn) *Conn {
	gc := &Conn{Conn: c, l: l, source: sourceKey(c.RemoteAddr())}
	var shed []*Conn
	var reasons []string
	l.mu.Lock()
	evict := func(e *list.Element, reason string) {
		old := e.Value.(*Conn)
		l.forgetLocked(old)
		shed, reasons = append(shed, old), append(reasons, reason)
	}
	if src := l.bySource[gc.source]; src != nil && src.Len() >= l.cfg.MaxAnonymousPerAddr {
		evict(src.Front(), reasonAddressLimit)
	}
	if l.anonymous.Len() >= l.cfg.MaxAnonymous {
		evict(l.anonymous.Front(), reasonAnonymousLimit)
	}
	if l.open >= l.cfg.MaxConns {
		if l.anonymous.Len() == 0 {
			l.mu.Unlock()
			l.shed(reasonNoRoom) // counted before the caller can see the close
			_ = c.Close()
			return nil
		}
		evict(l.anonymous.Front(), reasonTotalLimit)
	}
	l.open++
	gc.all = l.anonymous.PushBack(gc)
	src := l.bySource[gc.source]
	if src == nil {
		src = list.New()
		l.bySource[gc.source] = src
	}
	gc.src = src.PushBack(gc)
	l.mu.Unlock()
	for i, old := range shed {
		l.shed(reasons[i])
		_ = old.Conn.Close()
	}
	return gc
}

func (l *Listener) shed(reason string) {
	if l.cfg.OnShed != nil {
		l.cfg.OnShed(reason)
	}
}

// forgetLocked removes c from the books: it no longer counts as open.
func (l *Listener) forgetLocked(c *Conn) {
	if c.gone {
		return
	}
	c.gone = true
	l.open--
	l.unlistLocked(c)
}

// unlistLocked takes c off the anonymous lists, if it is on them.
func (l *Listener) unlistLocked(c *Conn) {
	if c.all == nil {
		return
	}
	l.anonymous.Remove(c.all)
	if src := l.bySource[c.source]; src != nil {
		src.Remove(c.src)
		if src.Len() == 0 {
			delete(l.bySource, c.source)
		}
	}
	c.all, c.src = nil, nil
}

// Conn is a connection the Listener admitted.
type Conn struct {
	net.Conn
	l      *Listener
	source string

	// Guarded by l.mu.
	all, src *list.Element // on the anonymous lists while not proven
	gone     bool
}

// Close closes the connection and frees its slot.
func (c *Conn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Prove marks the connection as carrying a known caller: it is no longer anonymous and
// is never closed to make room.
func (c *Conn) Prove() {
	c.l.mu.Lock()
	c.l.unlistLocked(c)
	c.l.mu.Unlock()
}

// Proven tells whether Prove was called (or the connection is closed).
func (c *Conn) Proven() bool {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.all == nil
}

type connKey struct{}

// WithConn returns ctx carrying c's admitted connection, for http.Server.ConnContext. c
// may be the admitted *Conn or a connection layered on it (a *tls.Conn); anything else
// leaves ctx as it is.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	for c != nil {
		if gc, ok := c.(*Conn); ok {
			return context.WithValue(ctx, connKey{}, gc)
		}
		inner, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = inner.NetConn()
	}
	return ctx
}

// Prove marks the connection a request arrived on (see WithConn) as proven. Without one
// in ctx it does nothing.
func Prove(ctx context.Context) {
	if gc, ok := ctx.Value(connKey{}).(*Conn); ok {
		gc.Prove()
	}
}

// sourceKey is the address whose anonymous connections are counted together.
func sourceKey(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ip4 := tcp.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return tcp.IP.Mask(net.CIDRMask(ipv6PrefixBits, 128)).String()
}
