package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// TestKilledAgentGoesOffline runs edgehost as its own process and kills it with SIGKILL:
// the relay must mark it offline within the link's idle window (issue acceptance).
func TestKilledAgentGoesOffline(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "edgehost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build edgehost: %v\n%s", err, out)
	}
	r := relaytest.Start(t)
	data, id := enrolled(t, r)
	cmd := exec.Command(bin, "run", "--data", data, "--log-level", "error", "--no-mdns")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	connected := func() bool {
		h, err := r.Store.EdgeHost(context.Background(), id.Org, id.AgentID)
		return err == nil && h.Connected
	}
	testtool.WaitFor(t, 15*time.Second, "the edge host process connects", connected)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	start := time.Now()
	testtool.WaitFor(t, edgelink.DefaultIdleTimeout+5*time.Second, "the relay marks the killed edge host offline", func() bool { return !connected() })
	t.Logf("offline %s after SIGKILL", time.Since(start).Round(time.Millisecond))
}
