package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
)

// ListenGroup opens a UDP socket on port that other listeners of the host share (address
// and port reuse: browsers and other responders bind the same well-known ports), joined to
// group on ifi. It sends multicast out of ifi with the given TTL and loops it back, and
// marks each packet read with its interface and destination. mDNS and SSDP both use it.
func ListenGroup(ifi net.Interface, group net.Addr, port, ttl int) (*ipv4.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); serr != nil {
				return
			}
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, fmt.Errorf("listen on port %d: %w", port, err)
	}
	conn := ipv4.NewPacketConn(pc)
	if err := errors.Join(
		conn.JoinGroup(&ifi, group),
		conn.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true),
		conn.SetMulticastInterface(&ifi),
		conn.SetMulticastTTL(ttl),
		conn.SetMulticastLoopback(true),
	); err != nil {
		pc.Close()
		return nil, fmt.Errorf("multicast on %s: %w", ifi.Name, err)
	}
	return conn, nil
}
