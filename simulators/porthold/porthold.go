// Package porthold keeps ports reserved while nothing listens on them. A simulated camera
// that reboots must come back on the same ports, as a real one keeps its address; left
// free for the seconds of a reboot, a port is soon taken by another process's listener
// or outgoing connection on a busy machine, and the camera cannot come back. A held TCP
// port refuses connections, as a camera that is down does.
package porthold

import (
	"errors"
	"net"
)

// Hold is a set of held ports. The zero Hold and a nil *Hold hold nothing.
type Hold struct {
	release []func()
}

// Ports holds each TCP and UDP address ("host:port"; empty ones are skipped). A port
// that cannot be held (taken already, or on a system where holding is not supported) is
// skipped: the caller's later listen reports it as it would have without a hold.
func Ports(tcp, udp []string) *Hold {
	h := &Hold{}
	for _, a := range tcp {
		if r, err := hold("tcp", a); err == nil {
			h.release = append(h.release, r)
		}
	}
	for _, a := range udp {
		if r, err := hold("udp", a); err == nil {
			h.release = append(h.release, r)
		}
	}
	return h
}

// Release frees the ports, right before the caller listens on them again.
func (h *Hold) Release() {
	if h == nil {
		return
	}
	for _, r := range h.release {
		r()
	}
	h.release = nil
}

func parse(network, addr string) (*net.TCPAddr, *net.UDPAddr, error) {
	if addr == "" {
		return nil, nil, errors.New("porthold: no address")
	}
	if network == "tcp" {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err == nil && a.Port == 0 {
			err = errors.New("porthold: port 0")
		}
		return a, nil, err
	}
	a, err := net.ResolveUDPAddr("udp", addr)
	if err == nil && a.Port == 0 {
		err = errors.New("porthold: port 0")
	}
	return nil, a, err
}
