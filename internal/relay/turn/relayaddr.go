package turn

import (
	"fmt"
	"net"
	"sync"

	pturn "github.com/pion/turn/v5"
)

// relayAddrs hands out the relayed transport addresses of allocations: sockets bound in
// the configured port range, advertised with the public address. Every socket it makes
// counts the bytes it relays and is tracked so that Close can wait for them.
type relayAddrs struct {
	pturn.RelayAddressGeneratorPortRange
	peers   *peerPolicy
	metrics *metrics

	mu     sync.Mutex
	open   int           // relay sockets and peer connections not yet closed
	closed bool          // set by drain: no new ones
	idle   chan struct{} // made by drain, closed when open reaches 0
}

// add counts a new socket, unless the server is closing.
func (r *relayAddrs) add() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.open++
	return true
}

func (r *relayAddrs) done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open--
	if r.closed && r.open == 0 {
		close(r.idle)
	}
}

// drain refuses new sockets and returns a channel closed once every open one is.
func (r *relayAddrs) drain() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.idle = make(chan struct{})
		if r.open == 0 {
			close(r.idle)
		}
	}
	return r.idle
}

func (r *relayAddrs) AllocatePacketConn(conf pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if !r.add() {
		return nil, nil, net.ErrClosed
	}
	pc, addr, err := r.RelayAddressGeneratorPortRange.AllocatePacketConn(conf)
	if err != nil {
		r.done()
		return nil, nil, fmt.Errorf("turn: relay socket: %w", err)
	}
	return &countingPacketConn{PacketConn: pc, m: r.metrics, done: r.done}, addr, nil
}

func (r *relayAddrs) AllocateListener(conf pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	if !r.add() {
		return nil, nil, net.ErrClosed
	}
	ln, addr, err := r.RelayAddressGeneratorPortRange.AllocateListener(conf)
	if err != nil {
		r.done()
		return nil, nil, fmt.Errorf("turn: relay listener: %w", err)
	}
	return &countingListener{Listener: ln, r: r, done: r.done}, addr, nil
}

// AllocateConn dials a peer for a TCP allocation (RFC 6062 Connect). The permission
// handler has seen the peer already; checking again here keeps the policy in one place
// should the library ever dial without asking.
func (r *relayAddrs) AllocateConn(conf pturn.AllocateConnConfig) (net.Conn, error) {
	if tcp, ok := conf.RemoteAddr.(*net.TCPAddr); !ok || !r.peers.permit(tcp.IP) {
		r.metrics.peerRefused.Inc()
		return nil, fmt.Errorf("turn: peer %s refused", conf.RemoteAddr)
	}
	c, err := r.RelayAddressGeneratorPortRange.AllocateConn(conf)
	if err != nil {
		return nil, fmt.Errorf("turn: dial peer: %w", err)
	}
	return r.track(c)
}

// track counts a peer connection; while closing it is refused.
func (r *relayAddrs) track(c net.Conn) (net.Conn, error) {
	if !r.add() {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	return &countingConn{Conn: c, m: r.metrics, done: r.done}, nil
}

// countingPacketConn is a UDP relay socket: what it reads came from a peer, what it
// writes goes to one.
type countingPacketConn struct {
	net.PacketConn
	m    *metrics
	once sync.Once
	done func()
}

func (c *countingPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if n > 0 {
		c.m.fromPeer.Add(float64(n))
	}
	return n, addr, err
}

func (c *countingPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(p, addr)
	if n > 0 {
		c.m.toPeer.Add(float64(n))
	}
	return n, err
}

func (c *countingPacketConn) Close() error {
	err := c.PacketConn.Close()
	c.once.Do(c.done)
	return err
}

type countingListener struct {
	net.Listener
	r    *relayAddrs
	once sync.Once
	done func()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.r.track(c)
}

func (l *countingListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.done)
	return err
}

// countingConn is a TCP connection to a peer (RFC 6062).
type countingConn struct {
	net.Conn
	m    *metrics
	once sync.Once
	done func()
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.m.fromPeer.Add(float64(n))
	}
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.m.toPeer.Add(float64(n))
	}
	return n, err
}

func (c *countingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}
