//go:build unix

package porthold

import (
	"fmt"
	"net"
	"syscall"
)

// hold binds a socket to addr without listening and without SO_REUSEADDR: the kernel
// then refuses the port to every other bind (and skips it when choosing an ephemeral
// port), and a TCP connection to it is refused.
func hold(network, addr string) (func(), error) {
	ta, ua, err := parse(network, addr)
	if err != nil {
		return nil, err
	}
	var ip net.IP
	port, typ := 0, syscall.SOCK_STREAM
	if ta != nil {
		ip, port = ta.IP, ta.Port
	} else {
		ip, port, typ = ua.IP, ua.Port, syscall.SOCK_DGRAM
	}
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if ip4 := ip.To4(); ip4 != nil || ip == nil {
		s := &syscall.SockaddrInet4{Port: port}
		if ip4 != nil {
			copy(s.Addr[:], ip4)
		}
		sa = s
	} else {
		family = syscall.AF_INET6
		s := &syscall.SockaddrInet6{Port: port}
		copy(s.Addr[:], ip.To16())
		sa = s
	}
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(family, typ, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("porthold: socket: %w", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("porthold: bind %s/%s: %w", network, addr, err)
	}
	return func() { syscall.Close(fd) }, nil
}
