package turn

import (
	"net"
	"net/netip"
)

// A TURN server sends whatever its clients give it to whatever peer address they name,
// from inside the relay's network. Without a filter, anyone holding a (cheap, org-wide)
// credential could reach services that trust the relay's position: its own loopback
// ports (metrics, a database, a plain-HTTP admin port), the cloud provider's metadata
// service on a link-local address, and every host of the private networks the relay
// sits in. That is server-side request forgery through the relay, so peers are refused
// unless they are ordinary public unicast addresses; tests and private deployments
// widen this with Config.AllowPeers.

// blockedPeers are the ranges that are never a WebRTC peer on the internet.
var blockedPeers = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, shared address space
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata services
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("224.0.0.0/3"),     // multicast, reserved, broadcast
	netip.MustParsePrefix("::/128"),          // unspecified
	netip.MustParsePrefix("::1/128"),         // loopback
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("fc00::/7"),        // unique local
	netip.MustParsePrefix("fe80::/10"),       // link-local
	netip.MustParsePrefix("ff00::/8"),        // multicast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("::ffff:0:0/96"),   // IPv4-mapped: checked as IPv4 after Unmap
	netip.MustParsePrefix("2002::/16"),       // 6to4 embeds any IPv4 address, private ones too
	netip.MustParsePrefix("2001::/32"),       // Teredo, likewise
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("::/96"),           // IPv4-compatible, deprecated
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// peerPolicy decides which peer addresses the relay sends to and accepts from.
type peerPolicy struct {
	allow []netip.Prefix // checked first: explicitly allowed
	own   []netip.Addr   // the relay's own addresses: never, unless allowed
}

func newPeerPolicy(allow []netip.Prefix, own []netip.Addr) *peerPolicy {
	return &peerPolicy{allow: allow, own: own}
}

// ownAddresses lists the addresses of this machine's interfaces and extra (the public
// address), so that a client cannot make the relay talk to itself on a public address
// where it might trust its own source.
func ownAddresses(extra ...net.IP) []netip.Addr {
	var out []netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	for _, e := range extra {
		if ip, ok := netip.AddrFromSlice(e); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// permit reports whether peer may be relayed to.
func (p *peerPolicy) permit(peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, a := range p.allow {
		if a.Contains(ip) {
			return true
		}
	}
	for _, b := range blockedPeers {
		if b.Contains(ip) {
			return false
		}
	}
	for _, o := range p.own {
		if o == ip {
			return false
		}
	}
	return true
}
