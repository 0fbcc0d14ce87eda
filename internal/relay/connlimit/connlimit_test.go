package connlimit

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// server accepts on a guarded loopback listener and hands out what it accepted.
type server struct {
	ln       *Listener
	accepted chan *Conn
	mu       sync.Mutex
	shed     map[string]int
}

func startServer(t *testing.T, cfg Config) *server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{accepted: make(chan *Conn, 1024), shed: map[string]int{}}
	cfg.OnShed = func(reason string) {
		s.mu.Lock()
		s.shed[reason]++
		s.mu.Unlock()
	}
	s.ln, err = NewListener(raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- c.(*Conn)
		}
	}()
	t.Cleanup(func() {
		s.ln.Close()
		<-done
		for {
			select {
			case c := <-s.accepted:
				c.Close()
			default:
				return
			}
		}
	})
	return s
}

func (s *server) shedCount(reason string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shed[reason]
}

// dial connects from the loopback address from and waits until the server admitted it.
func (s *server) dial(t *testing.T, from string) (net.Conn, *Conn) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.DialContext(t.Context(), "tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	select {
	case gc := <-s.accepted:
		return c, gc
	case <-t.Context().Done():
		t.Fatal("not accepted")
		return nil, nil
	}
}

// closedByServer tells whether the server end of c is closed: a read sees EOF or a reset
// rather than waiting.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// waitClosed waits until the server end of c is closed.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read on a connection the server should have closed: %v", err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

func TestOldestAnonymousOfAnAddressMakesRoom(t *testing.T) {
	s := startServer(t, Config{MaxConns: 1000, MaxAnonymousPerAddr: 3})
	var attacker []net.Conn
	for range 3 {
		c, _ := s.dial(t, "127.0.0.2")
		attacker = append(attacker, c)
	}
	other, _ := s.dial(t, "127.0.0.3")
	fourth, _ := s.dial(t, "127.0.0.2")

	waitClosed(t, attacker[0])
	for _, c := range append(attacker[1:], fourth, other) {
		if closedByServer(t, c) {
			t.Fatal("a connection within the bounds was closed")
		}
	}
	if got := s.shedCount(reasonAddressLimit); got != 1 {
		t.Fatalf("shed for the address bound: %d, want 1", got)
	}
	if st := s.ln.Stats(); st.Open != 4 || st.Anonymous != 4 {
		t.Fatalf("stats %+v, want 4 open, 4 anonymous", st)
	}
}

func TestProvenConnectionsAreNeverShed(t *testing.T) {
	s := startServer(t, Config{MaxConns: 1000, MaxAnonymous: 4, MaxAnonymousPerAddr: 4})
	user, gc := s.dial(t, "127.0.0.2")
	gc.Prove()
	var flood []net.Conn
	for i := range 10 {
		c, _ := s.dial(t, []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"}[i%3])
		flood = append(flood, c)
	}
	for _, c := range flood[:6] {
		waitClosed(t, c)
	}
	for _, c := range flood[6:] {
		if closedByServer(t, c) {
			t.Fatal("one of the newest anonymous connections was closed")
		}
	}
	if closedByServer(t, user) {
		t.Fatal("the proven connection was closed to make room")
	}
	if got := s.shedCount(reasonAnonymousLimit); got != 6 {
		t.Fatalf("shed for the anonymous bound: %d, want 6", got)
	}
}

func TestFullOfProvenRefusesNewcomers(t *testing.T) {
	s := startServer(t, Config{MaxConns: minConns})
	var proven []*Conn
	for range minConns {
		_, gc := s.dial(t, "127.0.0.2")
		gc.Prove()
		proven = append(proven, gc)
	}
	d := net.Dialer{}
	late, err := d.DialContext(t.Context(), "tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	waitClosed(t, late)
	if got := s.shedCount(reasonNoRoom); got != 1 {
		t.Fatalf("refused: %d, want 1", got)
	}
	// A proven connection that ends frees its slot for the next caller.
	proven[0].Close()
	if st := s.ln.Stats(); st.Open != minConns-1 {
		t.Fatalf("stats after a close %+v, want %d open", st, minConns-1)
	}
	next, _ := s.dial(t, "127.0.0.3")
	if closedByServer(t, next) {
		t.Fatal("the caller after a slot was freed was refused")
	}
}

func TestWithConnFindsTheConnUnderTLS(t *testing.T) {
	s := startServer(t, Config{MaxConns: 1000})
	_, gc := s.dial(t, "127.0.0.2")
	ctx := WithConn(context.Background(), tls.Server(gc, &tls.Config{}))
	Prove(ctx)
	if !gc.Proven() {
		t.Fatal("Prove through a TLS connection's context did not reach the admitted connection")
	}
	if st := s.ln.Stats(); st.Anonymous != 0 || st.Open != 1 {
		t.Fatalf("stats %+v, want 1 open, 0 anonymous", st)
	}
	gc.Close()
	gc.Close() // twice is harmless
	if st := s.ln.Stats(); st.Open != 0 {
		t.Fatalf("stats after close %+v, want 0 open", st)
	}
}

func TestIPv6SourcesCountPerPrefix(t *testing.T) {
	a := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1")})
	b := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9")})
	c := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")})
	if a != b || a == c {
		t.Fatalf("keys %q %q %q: want one per /64", a, b, c)
	}
	if k := sourceKey(&net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1")}); k != "10.0.0.1" {
		t.Fatalf("IPv4-mapped address keyed as %q", k)
	}
}
