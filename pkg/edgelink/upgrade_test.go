package edgelink

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// serveLoopback serves h over plain HTTP on loopback for the life of the test.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestUpgradeHandlerRefusals(t *testing.T) {
	checkGoroutines(t)
	r, err := NewRelay(RelayConfig{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	addr := serveLoopback(t, r.UpgradeHandler(func(req *http.Request) (string, error) {
		switch id := req.Header.Get("X-Test-Agent"); id {
		case "":
			return "", errors.New("no certificate")
		default:
			return id, nil
		}
	}))
	url := "ws://" + addr + "/link"

	t.Run("not a WebSocket", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/link")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != "websocket" {
			t.Errorf("plain GET: %s, Upgrade %q; want 426 and Upgrade: websocket", resp.Status, resp.Header.Get("Upgrade"))
		}
	})

	dialAs := func(t *testing.T, agentID string, cfg func(*websocket.Dialer, http.Header)) error {
		t.Helper()
		a, err := NewAgent(AgentConfig{RelayURL: url, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		a.header = http.Header{}
		if agentID != "" {
			a.header.Set("X-Test-Agent", agentID)
		}
		if cfg != nil {
			cfg(&a.dialer, a.header)
		}
		c, err := a.dialWebSocket(context.Background())
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name       string
		agentID    string
		cfg        func(*websocket.Dialer, http.Header)
		wantStatus int
		wantText   string
	}{
		{name: "no identity", wantStatus: http.StatusForbidden, wantText: "not an authorized agent"},
		{name: "malformed identity", agentID: "../etc", wantStatus: http.StatusForbidden},
		{name: "old protocol", agentID: "agent1", cfg: func(d *websocket.Dialer, _ http.Header) {
			d.Subprotocols = []string{"camcloud-edgelink.v0"}
		}, wantStatus: http.StatusBadRequest, wantText: Subprotocol},
		{name: "no subprotocol", agentID: "agent1", cfg: func(d *websocket.Dialer, _ http.Header) {
			d.Subprotocols = nil
		}, wantStatus: http.StatusBadRequest, wantText: Subprotocol},
		{name: "from a browser", agentID: "agent1", cfg: func(_ *websocket.Dialer, h http.Header) {
			h.Set("Origin", "https://evil.example")
		}, wantStatus: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialAs(t, tc.agentID, tc.cfg)
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != tc.wantStatus || !strings.Contains(he.Message, tc.wantText) {
				t.Errorf("dial: %v, want HandshakeError %d mentioning %q", err, tc.wantStatus, tc.wantText)
			}
		})
	}

	t.Run("accepted", func(t *testing.T) {
		if err := dialAs(t, "agent1", nil); err != nil {
			t.Fatalf("dial: %v", err)
		}
	})
}

func TestAgentRefusesRelayWithoutSubprotocol(t *testing.T) {
	checkGoroutines(t)
	// A WebSocket server that is not an edgelink relay: it accepts but selects no
	// subprotocol.
	up := websocket.Upgrader{}
	addr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_, _, _ = ws.ReadMessage()
		ws.Close()
	}))
	a, err := NewAgent(AgentConfig{RelayURL: "ws://" + addr + "/", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.dialWebSocket(context.Background()); !errors.Is(err, ErrSubprotocol) {
		t.Errorf("dial = %v, want ErrSubprotocol", err)
	}
}

// TestRelayHandlerSeesAgentIdentityFromLinkOnly checks that the relay's handler learns
// the agent from the link, whatever the request says.
func TestRelayHandlerSeesAgentIdentityFromLinkOnly(t *testing.T) {
	checkGoroutines(t)
	e := startLink(t, kindWS, defaultLinkOptions())
	e.waitConnected()
	req, _ := http.NewRequest("GET", "http://"+AgentHost("someone-else")+"/whoami", nil)
	req.Header.Set("X-Agent-Id", "someone-else")
	resp, err := e.agent.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != e.agentID {
		t.Errorf("relay handler saw %q, want the link's agent %q", body, e.agentID)
	}
}
