// Package camsimtest starts simulated cameras for tests: on loopback, on free ports,
// stopped when the test ends.
package camsimtest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// The VAPIX account every simulated camera has out of the box.
const (
	User     = "root"
	Password = "pass"
)

// Start starts n simulated cameras on 127.0.0.1, each on free ports, and stops them at the
// end of the test. opts adjust the configuration before start (faults, state dir, ...).
func Start(t testing.TB, n int, opts ...func(*camsim.Config)) *camsim.Fleet {
	t.Helper()
	cfg := camsim.Config{
		Count:       n,
		Listen:      "127.0.0.1:0",
		RTSPListen:  "127.0.0.1:0",
		User:        User,
		Password:    Password,
		RebootDelay: camsimRebootDelay,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	f, err := camsim.New(cfg)
	if err != nil {
		t.Fatalf("camsimtest: %v", err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("camsimtest: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
