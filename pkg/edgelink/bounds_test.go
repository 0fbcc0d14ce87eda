package edgelink

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// relayWithRawAgent serves one agent whose side is a bare yamux session the test drives
// as it likes (the relay takes it for an enrolled agent).
func relayWithRawAgent(t *testing.T, cfg RelayConfig, agentID string) (*Relay, *yamux.Session) {
	t.Helper()
	cfg.Logger = testLogger(t)
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = r.Accept(context.Background(), agentID, c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(c, yamuxConfig(DefaultStreamWindow, 10*time.Second, time.Second, testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	testtool.WaitFor(t, 5*time.Second, "the link", func() bool { st, _ := r.Status(agentID); return st.Connected })
	return r, sess
}

// One agent that opens stream after stream, each with a request head that never ends,
// gets at most MaxAgentStreams served and a backlog; the rest are reset, and the relay's
// memory stays bounded (unbounded, 400 such streams held over 300 MiB).
func TestAgentStreamsAreBounded(t *testing.T) {
	r, sess := relayWithRawAgent(t, RelayConfig{}, "greedy")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 400
	junk := bytes.Repeat([]byte("a"), minStreamWindow) // a whole initial window, no line end
	for range n {
		st, err := sess.OpenStream()
		if err != nil {
			break
		}
		_ = st.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = st.Write(junk) // a reset stream fails here, which is the point
	}
	// Each stream is either held by the relay or reset; once the relay has dealt with
	// all of them, the agent's end holds exactly the streams the relay holds.
	testtool.WaitFor(t, 30*time.Second, "the relay to hold or reset every stream", func() bool {
		st, _ := r.Status("greedy")
		return st.Streams == sess.NumStreams()
	})
	runtime.GC()
	runtime.ReadMemStats(&after)
	st, _ := r.Status("greedy")
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d streams held at the relay, heap grew %d MiB", st.Streams, grew>>20)
	if st.Streams > 2*MaxAgentStreams {
		t.Errorf("the relay holds %d streams of one agent, bound %d", st.Streams, 2*MaxAgentStreams)
	}
	if grew > 100<<20 {
		t.Errorf("one agent's streams hold %d MiB of the relay's memory", grew>>20)
	}
}

// A stream whose reader stops taking data (while its link stays up) fails its writer
// after StreamStall, rather than holding the handler for as long as the link lasts.
func TestStalledStreamWriteFails(t *testing.T) {
	var inWrite, returned atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		inWrite.Store(true)
		buf := make([]byte, 64<<10)
		for range 128 { // 8 MiB, like an artifact download
			if _, err := w.Write(buf); err != nil {
				break
			}
		}
		returned.Store(true)
	})
	_, sess := relayWithRawAgent(t, RelayConfig{Handler: h, StreamStall: 300 * time.Millisecond}, "agent1")
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte("GET /artifact HTTP/1.1\r\nHost: relay\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// ... and the agent never reads the answer.
	testtool.WaitFor(t, 5*time.Second, "the handler writing", inWrite.Load)
	testtool.WaitFor(t, 5*time.Second, "the stalled write to fail", returned.Load)
}
