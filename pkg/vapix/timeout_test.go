package vapix_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// hungDevice accepts connections and never answers, as a wedged web server does.
func hungDevice(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// Config.Timeout bounds each call also under a caller's deadline: a deadline is the
// budget of a whole round of calls (an inventory of many devices), which one device that
// never answers must not spend.
func TestTimeoutBoundsCallsUnderALaterDeadline(t *testing.T) {
	c, err := vapix.New(vapix.Config{BaseURL: hungDevice(t), User: "u", Password: "p", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.DeviceInfo(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a call to a device that never answers took %s with Timeout 100ms", took.Round(time.Millisecond))
	}
	if err == nil || ctx.Err() != nil {
		t.Fatalf("err %v, caller's context %v", err, ctx.Err())
	}
	// The caller's deadline still wins when it comes first.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	c2, _ := vapix.New(vapix.Config{BaseURL: hungDevice(t), Timeout: time.Minute})
	defer c2.CloseIdleConnections()
	start = time.Now()
	if _, err := c2.SystemReady(short, 0); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("the caller's earlier deadline was not kept: %v after %s", err, time.Since(start))
	}
	if !errors.Is(short.Err(), context.DeadlineExceeded) {
		t.Fatalf("caller's context: %v", short.Err())
	}
	// A call the device is asked to hold (systemready's timeout) has that long more.
	start = time.Now()
	if _, err := c.SystemReady(context.Background(), time.Second); err == nil || time.Since(start) < time.Second {
		t.Fatalf("systemready asked to wait 1 s gave up after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
}
