package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
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

// PerInterface shares one value per network interface among its users (announcements,
// advertisements of every camera in the process): the first Acquire opens it, the last
// Release closes it.
type PerInterface[T any] struct {
	Open  func(net.Interface) (T, error)
	Close func(T) // called without the lock held: it may wait for the value's goroutines

	mu   sync.Mutex
	held map[int]*shared[T]
}

type shared[T any] struct {
	v     T
	users int
}

// Acquire returns ifi's value, opening it on first use.
func (p *PerInterface[T]) Acquire(ifi net.Interface) (T, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.held[ifi.Index]; s != nil {
		s.users++
		return s.v, nil
	}
	v, err := p.Open(ifi)
	if err != nil {
		return v, err
	}
	if p.held == nil {
		p.held = map[int]*shared[T]{}
	}
	p.held[ifi.Index] = &shared[T]{v: v, users: 1}
	return v, nil
}

// Release lets go of ifi's value; the last user closes it.
func (p *PerInterface[T]) Release(ifi net.Interface) {
	p.mu.Lock()
	s := p.held[ifi.Index]
	if s == nil {
		p.mu.Unlock()
		return
	}
	s.users--
	last := s.users == 0
	if last {
		delete(p.held, ifi.Index)
	}
	p.mu.Unlock()
	if last {
		p.Close(s.v)
	}
}
