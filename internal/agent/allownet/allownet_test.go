package allownet

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAndAllows(t *testing.T) {
	n, err := Parse([]string{"192.168.1.0/24", " 10.1.2.3 ", "fd00:1::/64", "127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"192.168.1.20", "10.1.2.3", "fd00:1::5", "127.0.0.1", "::ffff:192.168.1.9"} {
		if !n.Allows(netip.MustParseAddr(a)) {
			t.Errorf("%s refused", a)
		}
	}
	for _, a := range []string{"192.168.2.1", "10.1.2.4", "169.254.169.254", "::1", "fe80::1", "0.0.0.0", "::", "224.0.0.251"} {
		if n.Allows(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed", a)
		}
	}
	if all, _ := Parse([]string{"0.0.0.0/0"}); all.Allows(netip.MustParseAddr("0.0.0.0")) || all.Allows(netip.MustParseAddr("239.1.1.1")) {
		t.Error("0.0.0.0/0 lets the unspecified or a multicast address through")
	}
	for _, bad := range []string{"", "10.0.0.0/33", "host.local", "fe80::1%eth0", "10.0.0.0/8,"} {
		if _, err := Parse([]string{bad}); err == nil || !strings.Contains(err.Error(), "--"+Flag) {
			t.Errorf("Parse(%q): %v", bad, err)
		}
	}
}

// The default is the host's own networks: never loopback or link-local, whatever the
// host's interfaces are.
func TestLocalLeavesOutLoopbackAndLinkLocal(t *testing.T) {
	n, err := Local()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"127.0.0.1", "127.1.2.3", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::"} {
		if n.Allows(netip.MustParseAddr(a)) {
			t.Errorf("the default allows %s (%s)", a, n)
		}
	}
	ifs, _ := net.InterfaceAddrs()
	for _, ia := range ifs {
		ipn, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP)
		if ip = ip.Unmap(); local(ip) && !n.Allows(ip) {
			t.Errorf("the default leaves out the host's own network of %s (%s)", ip, n)
		}
	}
}

func TestControlRefusesWithTheAddressAndTheFlag(t *testing.T) {
	n, _ := Parse([]string{"192.0.2.0/24"})
	if err := n.Control("tcp4", "192.0.2.7:80", nil); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:80", "169.254.169.254:80", "[::ffff:127.0.0.1]:80", "[fe80::1%lo]:80", "localhost:80"} {
		err := n.Control("tcp", addr, nil)
		var re *RefusedError
		if err == nil {
			t.Errorf("%s allowed", addr)
			continue
		}
		if strings.Contains(addr, "localhost") {
			continue // not resolved: never passed to Control by a dialer
		}
		if !errors.As(err, &re) || !strings.Contains(err.Error(), re.Addr.String()) || !strings.Contains(err.Error(), "--"+Flag) {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
