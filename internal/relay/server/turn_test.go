package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	pturn "github.com/pion/turn/v5"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/relay/turn"
)

func withTURN(cfg *server.Config) {
	cfg.TURN = server.TURNConfig{UDPListen: "127.0.0.1:0", TCPListen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}
}

// TestICEServersCredentialsRelayThroughBuiltInTURN: a viewer asks the API for ICE
// servers and relays to a peer with what it got, over each TURN URL.
func TestICEServersCredentialsRelayThroughBuiltInTURN(t *testing.T) {
	r := relaytest.Start(t, withTURN)
	ctx := t.Context()
	owner := r.CreateUser(t, "owner@example.com", "turn-test-password")
	viewer := r.CreateUser(t, "viewer@example.com", "turn-test-password")
	org, err := r.Store.CreateOrg(ctx, "T", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.AddMember(ctx, org.ID, viewer.ID, role.Viewer); err != nil {
		t.Fatal(err)
	}
	token := r.Login(t, viewer.Email, "turn-test-password")
	res := r.Do(t, http.MethodGet, "/api/v1/orgs/"+org.ID+"/ice-servers", token, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("ice-servers: %d %s", res.Status, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var ice api.ICEServers
	res.JSON(t, &ice)
	if ice.ExpiresAt == nil || ice.ExpiresAt.Sub(r.Clock.Now()) < 59*time.Minute || ice.ExpiresAt.Sub(r.Clock.Now()) > time.Hour {
		t.Errorf("expiresAt %v, want an hour from now", ice.ExpiresAt)
	}
	if len(ice.ICEServers) != 2 || len(ice.ICEServers[0].URLs) != 1 || !strings.HasPrefix(ice.ICEServers[0].URLs[0], "stun:127.0.0.1:") {
		t.Fatalf("iceServers %+v, want a STUN entry and a TURN entry", ice.ICEServers)
	}
	turnEntry := ice.ICEServers[1]
	if !strings.HasSuffix(turnEntry.Username, ":"+org.ID) {
		t.Errorf("username %q does not name the organization", turnEntry.Username)
	}
	if len(turnEntry.URLs) != 3 {
		t.Fatalf("TURN URLs %v, want udp, tcp and tls", turnEntry.URLs)
	}

	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	peer := udpEcho(t)
	for _, u := range turnEntry.URLs {
		t.Run(u, func(t *testing.T) {
			relay := allocate(t, u, turnEntry.Username, turnEntry.Credential, pool)
			msg := []byte("from " + u)
			if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := relay.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no answer through %s: %v", u, err)
			}
			if string(buf[:n]) != string(msg) || from.String() != peer.LocalAddr().String() {
				t.Errorf("got %q from %s", buf[:n], from)
			}
		})
	}

	secret, err := os.Stat(filepath.Join(r.DataDir, server.TURNSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if secret.Mode().Perm() != 0o600 {
		t.Errorf("TURN secret file mode %v, want 0600", secret.Mode().Perm())
	}
	metrics := r.Do(t, http.MethodGet, "/metrics", "", nil)
	for _, name := range []string{"relay_turn_allocations_total 3", "relay_turn_relayed_bytes_total{direction=\"from_peer\"}"} {
		if !strings.Contains(string(metrics.Body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestICEServersWithoutTURN: a relay without TURN answers an empty list.
func TestICEServersWithoutTURN(t *testing.T) {
	r := relaytest.Start(t)
	owner := r.CreateUser(t, "owner@example.com", "turn-test-password")
	org, err := r.Store.CreateOrg(t.Context(), "T", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Do(t, http.MethodGet, "/api/v1/orgs/"+org.ID+"/ice-servers", r.Login(t, owner.Email, "turn-test-password"), nil)
	if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != `{"iceServers":[]}` {
		t.Fatalf("ice-servers: %d %s", res.Status, res.Body)
	}
}

func TestTURNConfigurationIsChecked(t *testing.T) {
	for name, tc := range map[string]server.TURNConfig{
		"public address without public IP": {UDPListen: "0.0.0.0:3478"},
		"TLS with plain HTTP":              {TLSListen: "127.0.0.1:5349"},
		"bad port range":                   {UDPListen: "127.0.0.1:3478", RelayPorts: "9-2"},
		"bad peer range":                   {UDPListen: "127.0.0.1:3478", AllowPeers: []string{"lan"}},
	} {
		cfg := server.Config{DataDir: t.TempDir(), InsecureHTTP: true, TURN: tc}
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := server.Config{DataDir: t.TempDir(), TURN: server.TURNConfig{UDPListen: "0.0.0.0:3478", PublicIP: "203.0.113.5", RelayPorts: "50000-50100"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid TURN configuration refused: %v", err)
	}
}

// allocate reaches the TURN server of a turn:/turns: URL with a pion client.
func allocate(t *testing.T, u, user, pass string, pool *x509.CertPool) net.PacketConn {
	t.Helper()
	scheme, rest, _ := strings.Cut(u, ":")
	hostport, query, _ := strings.Cut(rest, "?")
	var conn net.PacketConn
	switch {
	case scheme == "turns":
		c, err := tls.Dial("tcp", hostport, &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	case query == "transport=tcp":
		c, err := net.Dial("tcp", hostport)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	default:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: hostport, TURNServerAddr: hostport, Conn: conn, Username: user, Password: pass, LoggerFactory: lf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate at %s: %v", u, err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	return relay
}

// udpEcho is a UDP peer on 127.0.0.1 answering each datagram with itself.
func udpEcho(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc
}

// TestICEServersForAnotherTURNServer: with --turn-url (a coturn sharing the secret) and
// no built-in listener, the relay hands out those URLs with credentials of the secret.
func TestICEServersForAnotherTURNServer(t *testing.T) {
	urls := []string{"stun:turn.example.com:3478", "turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"}
	r := relaytest.Start(t, func(cfg *server.Config) { cfg.TURN.URLs = urls })
	owner := r.CreateUser(t, "owner@example.com", "turn-test-password")
	org, err := r.Store.CreateOrg(t.Context(), "T", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Do(t, http.MethodGet, "/api/v1/orgs/"+org.ID+"/ice-servers", r.Login(t, owner.Email, "turn-test-password"), nil)
	if res.Status != http.StatusOK {
		t.Fatalf("ice-servers: %d %s", res.Status, res.Body)
	}
	var ice api.ICEServers
	res.JSON(t, &ice)
	if len(ice.ICEServers) != 2 || !slices.Equal(ice.ICEServers[0].URLs, urls[:1]) || !slices.Equal(ice.ICEServers[1].URLs, urls[1:]) {
		t.Fatalf("iceServers %+v, want the STUN URL and then the TURN URLs", ice.ICEServers)
	}
	secret, err := os.ReadFile(filepath.Join(r.DataDir, server.TURNSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	want := turn.NewCredential(strings.TrimSpace(string(secret)), org.ID, *ice.ExpiresAt)
	if got := ice.ICEServers[1]; got.Username != want.Username || got.Credential != want.Password {
		t.Errorf("credential %s / %s, want the secret's %s / %s", got.Username, got.Credential, want.Username, want.Password)
	}
}
