// Package allownet is the edge host's list of the networks its devices and VMS servers
// may be at (edgehost run --allow-device-net). Whoever may name an address to the edge
// host (an organization admin registering a VMS server or adding a camera by address, a
// device announcing itself over mDNS) could otherwise make it connect to anything it
// reaches: a cloud metadata service at 169.254.169.254, or a service on its own loopback.
//
// The check is made on the address each connection goes to, after name resolution
// (Nets.Control, a net.Dialer Control function), so that no host name and no DNS answer
// that changes between a check and the connection (rebinding) can lead elsewhere.
package allownet

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Flag is the edgehost run flag that sets the networks.
const Flag = "allow-device-net"

// Nets are the networks connections may go to. The zero value allows nothing.
type Nets struct {
	prefixes []netip.Prefix
}

// Parse reads the networks of the flag: CIDR prefixes or single addresses. An empty
// list allows nothing.
func Parse(specs []string) (*Nets, error) {
	n := &Nets{}
	for _, s := range specs {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("--%s %q: want a network (CIDR, such as 192.168.1.0/24) or an address", Flag, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		n.prefixes = append(n.prefixes, p.Masked())
	}
	return n, nil
}

// Local is the default: the networks of the host's own interfaces that are up, without
// loopback and link-local ones (where a host's own services and cloud metadata services
// live).
func Local() (*Nets, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces for --%s: %w", Flag, err)
	}
	n := &Nets{}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of interface %s for --%s: %w", i.Name, Flag, err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ip = ip.Unmap()
			ones, bits := ipn.Mask.Size()
			if ip.Is4() && bits == 128 {
				ones -= 96
			}
			if !ok || !local(ip) || ones < 0 || ones > ip.BitLen() {
				continue
			}
			n.prefixes = append(n.prefixes, netip.PrefixFrom(ip, ones).Masked())
		}
	}
	return n, nil
}

// local reports whether ip can stand for a network the default allows.
func local(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsUnspecified() && !ip.IsMulticast()
}

// String lists the networks as the flag takes them.
func (n *Nets) String() string {
	s := make([]string, len(n.prefixes))
	for i, p := range n.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Allows reports whether a connection may go to ip. An unspecified address (which
// reaches the host itself) and multicast ones are never allowed.
func (n *Nets) Allows(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
		return false
	}
	for _, p := range n.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// RefusedError is a connection refused because its address is outside the networks.
type RefusedError struct {
	Addr netip.Addr
	Nets string // the networks allowed, as the flag takes them
}

func (e *RefusedError) Error() string {
	allowed := e.Nets
	if allowed == "" {
		allowed = "none"
	}
	return fmt.Sprintf("address %s is outside the networks devices and VMS servers may be at (%s); allow it with --%s", e.Addr, allowed, Flag)
}

// Control is a net.Dialer Control function: it refuses, with a *RefusedError, a
// connection to an address outside the networks. It runs on the resolved address of
// each attempt.
func (n *Nets) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connection to %q: not an IP address and port", address)
	}
	if !n.Allows(ap.Addr()) {
		return &RefusedError{Addr: ap.Addr().Unmap().WithZone(""), Nets: n.String()}
	}
	return nil
}
