package edgelink

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// closeCodeSeen reads the agent end's raw WebSocket until the relay's close frame and
// returns its code.
func closeCodeSeen(t *testing.T, agentEnd *wsConn) int {
	t.Helper()
	for {
		_, _, err := agentEnd.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("agent read: %v", err)
		}
	}
}

// The relay tells an agent why it ended the session, with the codes PROTOCOL.md lists.
func TestRelayCloseCodes(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		checkGoroutines(t)
		r, err := NewRelay(RelayConfig{IdleTimeout: 200 * time.Millisecond, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		agentEnd, relayEnd := wsPair(t, time.Second)
		done := make(chan error, 1)
		go func() { done <- r.Accept(context.Background(), "agent1", relayEnd) }()
		if code := closeCodeSeen(t, agentEnd); code != websocket.CloseGoingAway {
			t.Errorf("idle agent dropped with close code %d, want 1001", code)
		}
		if err := <-done; !errors.Is(err, ErrIdleTimeout) {
			t.Errorf("Accept = %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		checkGoroutines(t)
		r, err := NewRelay(RelayConfig{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		agentEnd, relayEnd := wsPair(t, time.Second)
		done := make(chan error, 1)
		go func() { done <- r.Accept(context.Background(), "agent1", relayEnd) }()
		testtool.WaitFor(t, 5*time.Second, "the session", func() bool { st, _ := r.Status("agent1"); return st.Connected })
		if r.Disconnect("nobody") {
			t.Error("Disconnect of an agent without a session reported one")
		}
		if !r.Disconnect("agent1") {
			t.Fatal("Disconnect found no session")
		}
		if code := closeCodeSeen(t, agentEnd); code != CloseRevoked {
			t.Errorf("deleted agent dropped with close code %d, want %d", code, CloseRevoked)
		}
		if err := <-done; !errors.Is(err, ErrRevoked) {
			t.Errorf("Accept = %v", err)
		}
		if st, _ := r.Status("agent1"); st.Connected {
			t.Error("a revoked agent is still shown connected")
		}
	})
}

// Once the link drops, the agent never reports "connected" again until it is: a
// consumer that starts work when the link comes up must not start it on a dead link.
func TestNoConnectedStateAfterDrop(t *testing.T) {
	var mu sync.Mutex
	var seen []Status
	e := startLink(t, kindTCP, linkOptions{agentCfg: func(c *AgentConfig) {
		c.BackoffMin, c.BackoffMax = 300*time.Millisecond, 300*time.Millisecond
		c.OnState = func(s Status) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	}})
	e.waitConnected()
	e.cutAgentConn()
	testtool.WaitFor(t, 5*time.Second, "backoff", func() bool { return e.agent.Status().State == StateBackoff })
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if s.State == StateConnected && s.ConnectedAt.IsZero() {
			t.Errorf("OnState(%v, ConnectedAt zero) after the link dropped", s.State)
		}
	}
}
