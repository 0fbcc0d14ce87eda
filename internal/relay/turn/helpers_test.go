package turn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencamcloud/camcloud/internal/relay/pki"
)

const testSecret = "test-shared-secret"

// testCert is a server certificate for 127.0.0.1 from a CA of the relay's own kind, and
// the pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	ca, _, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return cert, ca.Pool()
}

// startServer runs a Server on loopback (UDP, TCP and TLS) that relays to 127.0.0.1,
// with its metrics in the returned registry.
func startServer(t testing.TB, change func(*Config)) (*Server, *prometheus.Registry, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	reg := prometheus.NewRegistry()
	cfg := Config{
		Secret: testSecret, UDPListen: "127.0.0.1:0", TCPListen: "127.0.0.1:0", TLSListen: "127.0.0.1:0",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, PublicIP: net.IPv4(127, 0, 0, 1),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Registerer: reg,
	}
	if change != nil {
		change(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, reg, pool
}

// transport names how a client reaches the TURN server.
type transport string

const (
	overUDP transport = "udp"
	overTCP transport = "tcp"
	overTLS transport = "tls"
)

// dialClient is a started pion TURN client reaching addr over tr.
func dialClient(t testing.TB, tr transport, addr string, pool *x509.CertPool, user, pass, realm string) *pturn.Client {
	t.Helper()
	c, _ := dialClientConn(t, tr, addr, pool, user, pass, realm)
	return c
}

// dialClientConn is dialClient that also returns the client's socket or connection.
func dialClientConn(t testing.TB, tr transport, addr string, pool *x509.CertPool, user, pass, realm string) (*pturn.Client, net.PacketConn) {
	t.Helper()
	var conn net.PacketConn
	switch tr {
	case overUDP:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case overTCP:
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	case overTLS:
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: user, Password: pass, Realm: realm,
		LoggerFactory: slogFactory{slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	return c, conn
}

// echoPeer is a UDP peer on 127.0.0.1 that answers every datagram with the same bytes
// until the test ends.
func echoPeer(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc
}

// roundTrip sends msg from the allocation to peer and waits for it to come back,
// retrying a lost datagram a few times.
func roundTrip(relay net.PacketConn, peer net.Addr, msg []byte) error {
	buf := make([]byte, 64<<10)
	for try := 0; try < 5; try++ {
		if _, err := relay.WriteTo(msg, peer); err != nil {
			return fmt.Errorf("write to peer: %w", err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := relay.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			return fmt.Errorf("read from peer: %w", err)
		}
		if from.String() != peer.String() || string(buf[:n]) != string(msg) {
			return fmt.Errorf("got %q from %s, want %q from %s", buf[:n], from, msg, peer)
		}
		return nil
	}
	return errors.New("no answer from the peer through the relay")
}
