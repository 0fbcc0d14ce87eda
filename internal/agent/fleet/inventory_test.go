package fleet

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// A device that accepts connections but never answers (a wedged web server) costs a
// poll Config.Timeout, not the budget of the whole inventory, which the agent gives with
// a deadline: the other devices are still polled and the budget is not spent.
func TestHungDeviceIsBoundedByConfigTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() { // accept and hold every connection, never answer
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	good := camsimtest.Start(t, 1).Cameras()[0]
	// One device polled at a time, as when every slot is taken by a hung device.
	m, st := startManager(t, Config{Finder: finderFor(good), Timeout: 200 * time.Millisecond, Concurrency: 1})
	if tk := onboardAndWait(t, m, st, good.Info().Serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
		t.Fatal(tk.Detail)
	}
	const hung = "ACCC8E0000FF"
	if err := st.PutDevice(devstore.Device{Serial: hung, Address: ln.Addr().String(), User: "camcloud", Mode: ModeManaged}, "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	inv, err := m.Inventory(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Inventory took %s with Config.Timeout 200ms: the per-call timeout is ignored under a deadline", took.Round(time.Millisecond))
	}
	if ctx.Err() != nil {
		t.Errorf("one hung device spent the inventory's whole budget")
	}
	if err != nil || len(inv) != 2 || inv[0].Serial != hung || inv[0].Reachable || !inv[1].Reachable {
		t.Errorf("inventory %+v, %v: want the hung device unreachable and the other read", inv, err)
	}
}
