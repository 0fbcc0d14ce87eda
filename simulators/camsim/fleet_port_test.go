package camsim_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// A fleet whose port is taken fails to start with an error naming the port, at once,
// and closes (it used to deadlock: Start held the lock that Close takes).
func TestStartOnTakenPortFails(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	fleet, err := camsim.New(camsim.Config{Count: 4, Listen: "127.0.0.1:0", RTSPListen: "127.0.0.1:0", HTTPSListen: taken.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fleet.Start(context.Background()) }()
	select {
	case err := <-done:
		// Camera 0 has the taken port; the others the ports after it, which (rarely)
		// someone else may hold too: any of them is named.
		if err == nil || !strings.Contains(err.Error(), "HTTPS port 127.0.0.1:") || !strings.Contains(err.Error(), "is already in use") {
			t.Fatalf("Start on a taken HTTPS port: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start hangs on a taken port")
	}
	closed := make(chan struct{})
	go func() { fleet.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs after a failed start")
	}
}
