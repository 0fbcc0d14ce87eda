package edgelink

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// inBubble runs f in a synctest bubble (virtual time). yamux keeps timers in a global
// sync.Pool: a timer made inside a bubble must never be used outside it (the runtime
// stops the program), and a real timer inside a bubble keeps virtual time from
// advancing while yamux waits on it. Two collections empty a sync.Pool, so the pool is
// emptied before and after; tests that use this must not be parallel.
func inBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	synctest.Test(t, f)
	runtime.GC()
	runtime.GC()
}

func TestBackoffBounds(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 1600 * time.Millisecond
	for failures := 1; failures < 100; failures++ {
		d := hi
		if failures <= 5 {
			d = lo << (failures - 1)
		}
		for range 50 {
			got := backoff(lo, hi, failures)
			if got < d/2 || got >= d {
				t.Fatalf("backoff after %d failures = %v, want in [%v, %v)", failures, got, d/2, d)
			}
		}
	}
}

// dialScript is a dial function for an Agent that follows a script: each step either
// fails or connects to relay over a pipe for a while (the relay then closes it).
type dialScript struct {
	t     *testing.T
	relay *Relay
	steps []time.Duration // 0: fail; otherwise how long the link stays up
	wg    sync.WaitGroup

	mu       sync.Mutex
	attempts []time.Time
}

var errScripted = errors.New("scripted dial failure")

func (d *dialScript) dial(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	i := len(d.attempts)
	d.attempts = append(d.attempts, time.Now())
	d.mu.Unlock()
	if i >= len(d.steps) {
		<-ctx.Done() // the script is over: stay away
		return nil, ctx.Err()
	}
	if d.steps[i] == 0 {
		return nil, errScripted
	}
	agentEnd, relayEnd := net.Pipe()
	up := d.steps[i]
	d.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), up)
		defer cancel()
		_ = d.relay.Accept(ctx, "agent1", relayEnd)
	})
	return agentEnd, nil
}

func TestAgentBackoffInVirtualTime(t *testing.T) {
	checkGoroutines(t)
	inBubble(t, func(t *testing.T) {
		const lo, hi = 100 * time.Millisecond, 1600 * time.Millisecond
		r, err := NewRelay(RelayConfig{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		s := &dialScript{t: t, relay: r, steps: []time.Duration{
			0, 0, 0, 0, 0, 0, 0, // grows to the cap
			15 * time.Second, // a stable link: the backoff starts over
			0, 0,
			time.Second, // a short link: it does not
			0,
		}}
		a, err := NewAgent(AgentConfig{RelayURL: "wss://relay.example/link", BackoffMin: lo, BackoffMax: hi, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		a.dial = s.dial
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := a.Status(); st.State != StateConnecting {
			t.Errorf("after the script, state = %v, want connecting (the last dial blocks)", st.State)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		r.Close()
		s.wg.Wait()

		// Model the schedule: after each attempt ends, the wait is drawn from
		// [d/2, d) for d = lo·2^(failures-1), capped at hi, where failures counts
		// attempts since the last stable link.
		if len(s.attempts) != len(s.steps)+1 {
			t.Fatalf("%d attempts, want %d", len(s.attempts), len(s.steps)+1)
		}
		failures := 0
		for i := 1; i < len(s.attempts); i++ {
			up := s.steps[i-1]
			if up >= stableAfter {
				failures = 0
			}
			failures++
			d := min(lo<<(failures-1), hi)
			gap := s.attempts[i].Sub(s.attempts[i-1]) - up
			if gap < d/2 || gap >= d {
				t.Errorf("wait before attempt %d = %v, want in [%v, %v) (after %d failures)", i+1, gap, d/2, d, failures)
			}
		}
	})
}

// freezeConn stands for a network path that goes dark: after freeze, writes vanish and
// reads never return, and closing it tells the far end nothing, as when a host loses
// power or a cable is cut.
type freezeConn struct {
	net.Conn
	frozen chan struct{} // closed by freeze
	closed chan struct{} // closed by Close
	once   sync.Once
}

func newFreezeConn(c net.Conn) *freezeConn {
	return &freezeConn{Conn: c, frozen: make(chan struct{}), closed: make(chan struct{})}
}

func (c *freezeConn) freeze() { close(c.frozen) }

func (c *freezeConn) Read(p []byte) (int, error) {
	for {
		select {
		case <-c.frozen:
			<-c.closed
			return 0, net.ErrClosed
		default:
		}
		n, err := c.Conn.Read(p)
		select {
		case <-c.frozen: // arrived after the path went dark: lost
		default:
			return n, err
		}
	}
}

func (c *freezeConn) Write(p []byte) (int, error) {
	select {
	case <-c.frozen:
		return len(p), nil
	default:
		return c.Conn.Write(p)
	}
}

func (c *freezeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	select {
	case <-c.frozen:
		// The far end never hears of it; only a read in progress here is released.
		return c.Conn.SetReadDeadline(time.Now())
	default:
		return c.Conn.Close()
	}
}

func TestKeepAliveAndSilentAgentInVirtualTime(t *testing.T) {
	checkGoroutines(t)
	inBubble(t, func(t *testing.T) {
		events := &eventLog{}
		r, err := NewRelay(RelayConfig{OnEvent: events.add, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		agentEnd, relayEnd := net.Pipe()
		fc := newFreezeConn(agentEnd)
		accepted := make(chan error, 1)
		go func() { accepted <- r.Accept(context.Background(), "agent1", relayEnd) }()

		var downAt time.Time // when the agent's state first left connected; set from Run's goroutine
		var wasUp bool
		a, err := NewAgent(AgentConfig{
			RelayURL: "wss://relay.example/link",
			Logger:   testLogger(t),
			OnState: func(s Status) {
				if s.State == StateConnected {
					wasUp = true
				} else if wasUp && downAt.IsZero() {
					downAt = time.Now()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		first := true
		a.dial = func(ctx context.Context) (net.Conn, error) {
			if first {
				first = false
				return fc, nil
			}
			<-ctx.Done() // the agent's network is gone: no second link
			return nil, ctx.Err()
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		synctest.Wait()

		// Idle for ten minutes: keepalives hold the link up, and the relay sees them.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		st, _ := r.Status("agent1")
		if !st.Connected || time.Since(st.LastSeen) > DefaultKeepAliveInterval {
			t.Fatalf("after 10 idle minutes: relay status %+v (now %v), want connected and seen within %v",
				st, time.Now(), DefaultKeepAliveInterval)
		}
		if as := a.Status(); as.State != StateConnected {
			t.Fatalf("after 10 idle minutes: agent state %v", as.State)
		}

		// The path goes dark.
		lastSeen := st.LastSeen
		frozeAt := time.Now()
		fc.freeze()
		err = <-accepted
		offline := time.Now()
		if !errors.Is(err, ErrIdleTimeout) {
			t.Errorf("Accept ended with %v, want ErrIdleTimeout", err)
		}
		if got := offline.Sub(lastSeen); got != DefaultIdleTimeout {
			t.Errorf("offline %v after the last byte, want exactly the idle timeout %v", got, DefaultIdleTimeout)
		}
		if got := offline.Sub(frozeAt); got > DefaultIdleTimeout {
			t.Errorf("offline %v after the agent went dark, want at most %v", got, DefaultIdleTimeout)
		}
		evs := events.list()
		if len(evs) != 2 || evs[1].Kind != EventDisconnected || !errors.Is(evs[1].Err, ErrIdleTimeout) {
			t.Errorf("events = %+v, want connected then disconnected for ErrIdleTimeout", evs)
		}
		if st, _ := r.Status("agent1"); st.Connected || !st.LastSeen.Equal(lastSeen) || !st.DisconnectedAt.Equal(offline) {
			t.Errorf("relay status after timeout = %+v", st)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		// The agent gave up on the relay within one ping interval plus the wait for
		// its answer (read after Run returned: OnState ran on its goroutine).
		if downAt.IsZero() {
			t.Errorf("agent never left the connected state after the path went dark")
		} else if gaveUp := downAt.Sub(frozeAt); gaveUp > DefaultKeepAliveInterval+DefaultWriteTimeout {
			t.Errorf("agent gave up %v after the freeze, want at most %v", gaveUp, DefaultKeepAliveInterval+DefaultWriteTimeout)
		}
		agentEnd.Close()
		r.Close()
	})
}

func TestConfigValidationNamesEveryBadField(t *testing.T) {
	_, err := NewAgent(AgentConfig{
		RelayURL:     "http://relay.example/link",
		BackoffMin:   time.Minute,
		BackoffMax:   time.Second,
		WriteTimeout: -1,
		StreamWindow: 1024,
	})
	for _, want := range []string{"RelayURL", "BackoffMin", "WriteTimeout", "StreamWindow"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewAgent error %v does not name %s", err, want)
		}
	}
	for _, u := range []string{"", "ws://relay.example/link", "://"} {
		if _, err := NewAgent(AgentConfig{RelayURL: u}); err == nil {
			t.Errorf("NewAgent accepted RelayURL %q", u)
		}
	}
	for _, u := range []string{"wss://relay.example/link", "ws://127.0.0.1:1/link", "ws://localhost/link", "ws://[::1]:8/x"} {
		if _, err := NewAgent(AgentConfig{RelayURL: u}); err != nil {
			t.Errorf("NewAgent refused RelayURL %q: %v", u, err)
		}
	}
	_, err = NewRelay(RelayConfig{IdleTimeout: -1, WriteTimeout: -1, StreamWindow: 1})
	for _, want := range []string{"IdleTimeout", "WriteTimeout", "StreamWindow"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewRelay error %v does not name %s", err, want)
		}
	}
}

func TestStateText(t *testing.T) {
	for s := StateUnknown; s <= StateStopped; s++ {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%v -> %s -> %v, %v", s, b, back, err)
		}
	}
	if _, err := ParseState("sleeping"); err == nil {
		t.Error("ParseState accepted an unknown state")
	}
	if _, err := State(42).MarshalText(); err == nil {
		t.Error("MarshalText accepted an invalid state")
	}
	if got := EventDisconnected.String(); got != "disconnected" {
		t.Errorf("EventDisconnected = %q", got)
	}
}
