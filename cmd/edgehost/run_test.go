package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// TestRunConnectsAndRelayTracksIt enrolls an edge host, runs it, and watches the relay's
// inventory: connected while it runs, disconnected once it stops.
func TestRunConnectsAndRelayTracksIt(t *testing.T) {
	r := relaytest.Start(t)
	data, id := enrolled(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetArgs([]string{"run", "--data", data, "--log-level", "error", "--no-mdns"})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		done <- root.ExecuteContext(ctx)
	}()
	connected := func() bool {
		h, err := r.Store.EdgeHost(context.Background(), id.Org, id.AgentID)
		return err == nil && h.Connected
	}
	testtool.WaitFor(t, 15*time.Second, "the relay shows the edge host connected", connected)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop when cancelled")
	}
	testtool.WaitFor(t, 15*time.Second, "the relay shows the edge host disconnected", func() bool { return !connected() })
}

// TestAgentReturnsAfterRelayRestart restarts the relay under a running edge host: the
// edge host must be back on its own within 10 s (issue acceptance).
func TestAgentReturnsAfterRelayRestart(t *testing.T) {
	r := relaytest.Start(t)
	data, id := enrolled(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetArgs([]string{"run", "--data", data, "--log-level", "error", "--no-mdns"})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		done <- root.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	connected := func() bool {
		h, err := r.Store.EdgeHost(context.Background(), id.Org, id.AgentID)
		return err == nil && h.Connected
	}
	testtool.WaitFor(t, 15*time.Second, "the edge host connects", connected)
	r.Restart(t)
	start := time.Now()
	testtool.WaitFor(t, 10*time.Second, "the edge host is back within 10 s of the relay restart", connected)
	t.Logf("back %s after the relay restarted", time.Since(start).Round(time.Millisecond))
}
