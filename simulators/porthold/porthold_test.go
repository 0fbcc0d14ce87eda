//go:build unix

package porthold

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// A held port refuses connections, cannot be taken by another listener (even one with
// SO_REUSEADDR, as Go's are), and is free again at once after Release.
func TestHeldPortIsRefusedAndKept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uaddr := pc.LocalAddr().String()
	ln.Close()
	pc.Close()

	h := Ports([]string{addr, ""}, []string{uaddr})
	if len(h.release) != 2 {
		t.Fatalf("held %d ports, want 2", len(h.release))
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a held TCP port accepted a connection")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connecting to a held port: %v, want connection refused", err)
	}
	if l2, err := net.Listen("tcp", addr); err == nil {
		l2.Close()
		t.Fatal("another listener took a held TCP port")
	}
	if p2, err := net.ListenPacket("udp", uaddr); err == nil {
		p2.Close()
		t.Fatal("another socket took a held UDP port")
	}

	h.Release()
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen after Release: %v", err)
	}
	ln.Close()
	pc, err = net.ListenPacket("udp", uaddr)
	if err != nil {
		t.Fatalf("UDP listen after Release: %v", err)
	}
	pc.Close()
	(*Hold)(nil).Release() // a nil Hold holds nothing
}
