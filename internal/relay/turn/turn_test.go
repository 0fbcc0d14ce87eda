package turn

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

func (s *Server) addrOf(tr transport) string {
	switch tr {
	case overTCP:
		return s.TCPAddr().String()
	case overTLS:
		return s.TLSAddr().String()
	}
	return s.UDPAddr().String()
}

func TestRelaysBothWaysOverEveryTransport(t *testing.T) {
	s, _, pool := startServer(t, nil)
	peer := echoPeer(t)
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		t.Run(string(tr), func(t *testing.T) {
			before := testutil.ToFloat64(s.metrics.fromPeer)
			cred := NewCredential(testSecret, "org_a", time.Now().Add(time.Hour))
			c := dialClient(t, tr, s.addrOf(tr), pool, cred.Username, cred.Password, s.Realm())
			relay, err := c.Allocate()
			if err != nil {
				t.Fatalf("allocate over %s: %v", tr, err)
			}
			if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("relayed address %s, want the configured public IP 127.0.0.1", relay.LocalAddr())
			}
			if got := testutil.ToFloat64(s.metrics.allocations.WithLabelValues("org_a")); got != 1 {
				t.Errorf("relay_turn_allocations{org=org_a} = %v, want 1", got)
			}
			for _, msg := range []string{"hello camera", "hello again"} {
				if err := roundTrip(relay, peer.LocalAddr(), []byte(msg)); err != nil {
					t.Fatal(err)
				}
			}
			if got := testutil.ToFloat64(s.metrics.fromPeer) - before; got < float64(len("hello camera")+len("hello again")) {
				t.Errorf("relay_turn_relayed_bytes_total{direction=from_peer} grew by %v", got)
			}
			if err := relay.Close(); err != nil {
				t.Fatal(err)
			}
			testtool.WaitFor(t, 5*time.Second, "the allocation to be gone", func() bool { return s.Allocations() == 0 })
		})
	}
	if got := testutil.ToFloat64(s.metrics.created); got != 3 {
		t.Errorf("relay_turn_allocations_total = %v, want 3", got)
	}
	if got := testutil.ToFloat64(s.metrics.toPeer); got == 0 {
		t.Error("relay_turn_relayed_bytes_total{direction=to_peer} did not move")
	}
}

func TestRefusesCredentialsThatAreNotValid(t *testing.T) {
	s, _, pool := startServer(t, nil)
	now := time.Now()
	good := NewCredential(testSecret, "org_a", now.Add(time.Hour))
	expired := NewCredential(testSecret, "org_a", now.Add(-time.Second))
	otherOrg := NewCredential(testSecret, "org_b", now.Add(time.Hour))
	cases := []struct {
		name, user, pass, reason string
	}{
		{"expired", expired.Username, expired.Password, reasonExpired},
		// A member of org_a cannot turn its password into one for org_b.
		{"signature of another organization", otherOrg.Username, good.Password, reasonSignature},
		{"other secret", good.Username, NewCredential("another secret", "org_a", good.ExpiresAt).Password, reasonSignature},
		{"not a REST username", "org_a", good.Password, reasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.metrics.authFailures.WithLabelValues(tc.reason))
			c := dialClient(t, overUDP, s.addrOf(overUDP), pool, tc.user, tc.pass, s.Realm())
			if relay, err := c.Allocate(); err == nil {
				_ = relay.Close()
				t.Fatal("allocation granted")
			}
			if got := testutil.ToFloat64(s.metrics.authFailures.WithLabelValues(tc.reason)) - before; got < 1 {
				t.Errorf("relay_turn_auth_failures_total{reason=%s} did not move", tc.reason)
			}
		})
	}
	if n := s.Allocations(); n != 0 {
		t.Errorf("%d allocations open", n)
	}
}

func TestBoundsAllocationsPerOrganization(t *testing.T) {
	s, _, pool := startServer(t, func(c *Config) { c.MaxPerOrg = 2 })
	allocate := func(org string) (net.PacketConn, error) {
		cred := NewCredential(testSecret, org, time.Now().Add(time.Hour))
		return dialClient(t, overUDP, s.addrOf(overUDP), pool, cred.Username, cred.Password, s.Realm()).Allocate()
	}
	var held []net.PacketConn
	for range 2 {
		r, err := allocate("org_a")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	if r, err := allocate("org_a"); err == nil {
		_ = r.Close()
		t.Fatal("a third allocation of org_a was granted over the bound of 2")
	}
	if got := testutil.ToFloat64(s.metrics.quotaRefused); got != 1 {
		t.Errorf("relay_turn_allocations_refused_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.allocations.WithLabelValues("org_a")); got != 2 {
		t.Errorf("relay_turn_allocations{org=org_a} = %v, want 2", got)
	}
	// Another organization has its own bound.
	rb, err := allocate("org_b")
	if err != nil {
		t.Fatalf("org_b refused while org_a is full: %v", err)
	}
	defer rb.Close()
	// A freed allocation makes room again.
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 5*time.Second, "org_a's freed allocation to be counted", func() bool {
		return testutil.ToFloat64(s.metrics.allocations.WithLabelValues("org_a")) == 1
	})
	r, err := allocate("org_a")
	if err != nil {
		t.Fatalf("org_a refused after freeing one: %v", err)
	}
	_ = r.Close()
	_ = held[1].Close()
}

func TestRefusesLoopbackPeersUnlessAllowed(t *testing.T) {
	s, _, pool := startServer(t, func(c *Config) { c.AllowPeers = nil })
	peer := echoPeer(t)
	cred := NewCredential(testSecret, "org_a", time.Now().Add(time.Hour))
	relay, err := dialClient(t, overUDP, s.addrOf(overUDP), pool, cred.Username, cred.Password, s.Realm()).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	_, _ = relay.WriteTo([]byte("to the relay's own loopback"), peer.LocalAddr())
	testtool.WaitFor(t, 5*time.Second, "the loopback peer to be refused", func() bool {
		return testutil.ToFloat64(s.metrics.peerRefused) >= 1
	})
	if got := testutil.ToFloat64(s.metrics.toPeer); got != 0 {
		t.Errorf("%v bytes relayed to a refused peer", got)
	}
}

func TestPeerPolicy(t *testing.T) {
	p := newPeerPolicy([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, []netip.Addr{netip.MustParseAddr("198.51.99.1")})
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860:4860::8888": true, "93.184.216.34": true,
		"127.0.0.1": false, "::1": false, "169.254.169.254": false, "10.0.0.1": false, "172.16.5.4": false,
		"192.168.1.1": false, "100.64.0.1": false, "0.0.0.0": false, "::": false, "fe80::1": false, "fd00::1": false,
		"224.0.0.251": false, "255.255.255.255": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"10.1.2.3":    true,  // allowed explicitly
		"198.51.99.1": false, // the relay's own address
	} {
		if got := p.permit(net.ParseIP(addr)); got != want {
			t.Errorf("permit(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCloseEndsConnectionsAndAllocations(t *testing.T) {
	s, _, pool := startServer(t, nil)
	cred := NewCredential(testSecret, "org_a", time.Now().Add(time.Hour))
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		if _, err := dialClient(t, tr, s.addrOf(tr), pool, cred.Username, cred.Password, s.Realm()).Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	tcpAddr := s.addrOf(overTCP)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.relay.mu.Lock()
	open := s.relay.open
	s.relay.mu.Unlock()
	if open != 0 {
		t.Errorf("%d relay sockets open after Close", open)
	}
	if c, err := net.Dial("tcp", tcpAddr); err == nil {
		_ = c.Close()
		t.Error("the TCP listener still accepts after Close")
	}
}

func TestCredentialIsTheRESTAPIScheme(t *testing.T) {
	// base64(HMAC-SHA1(secret, username)), as computed by
	// echo -n 1700000000:org_x | openssl dgst -sha1 -hmac secret -binary | base64
	c := NewCredential("secret", "org_x", time.Unix(1700000000, 0))
	if c.Username != "1700000000:org_x" {
		t.Errorf("username %q", c.Username)
	}
	if want := "58ufO4pa0Ht4k3rvEriVyi1rUow="; c.Password != want {
		t.Errorf("password %q, want %q", c.Password, want)
	}
	exp, org, err := parseUsername(c.Username)
	if err != nil || org != "org_x" || !exp.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("parse %q = %v %q %v", c.Username, exp, org, err)
	}
}

// TestCloseLeavesNoGoroutine: after Close, the library's read loops and the relay
// sockets' goroutines are gone.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	s, _, pool := startServer(t, nil)
	peer := echoPeer(t)
	cred := NewCredential(testSecret, "org_a", time.Now().Add(time.Hour))
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		c, conn := dialClientConn(t, tr, s.addrOf(tr), pool, cred.Username, cred.Password, s.Realm())
		relay, err := c.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(relay, peer.LocalAddr(), []byte("x")); err != nil {
			t.Fatal(err)
		}
		_ = relay.Close()
		c.Close()
		_ = conn.Close()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The echo peer's goroutine is the one this test still owns.
	testtool.WaitFor(t, 10*time.Second, "the server's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before+1
	})
}
