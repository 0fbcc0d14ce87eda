package discovery

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// recorder collects the events a watcher tells.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) on(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// serials returns the serials of the events of kind, in order.
func (r *recorder) serials(kind EventKind) []string {
	var out []string
	for _, e := range r.all() {
		if e.Kind == kind {
			out = append(out, e.Device.Serial)
		}
	}
	return out
}

// startWatcher runs w until the test ends.
func startWatcher(t testing.TB, w *Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10 s of its context ending")
		}
	})
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// addrOf is a camera's host:port.
func addrOf(c *camsim.Camera) string { return strings.TrimPrefix(c.Info().HTTP, "http://") }

// withMDNS makes a camsim fleet announce over mDNS on loopback.
func withMDNS(c *camsim.Config) { c.MDNS, c.MDNSInterface = true, "lo" }

// withSerialOffset shifts a fleet's serials.
func withSerialOffset(n int) func(*camsim.Config) {
	return func(c *camsim.Config) { c.SerialOffset = n }
}
