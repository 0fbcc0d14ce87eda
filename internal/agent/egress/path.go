package egress

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
)

// PathPrefix is where a Proxy serves: PathPrefix + "{serial}/vapix/{path...}".
const PathPrefix = "/v1/devices/"

// vapixSegment separates the serial from the device path.
const vapixSegment = "/vapix/"

const maxSerial = 64

// parseTarget checks the request target and returns the device's serial and the path to
// request on the device, which is clean, absolute and made of RFC 3986 path characters
// only, so it is its own escaped form (linkapi.CheckSubPath, the rule the relay applied
// too). u is the request's URL and requestURI the request line's target as the server
// read it ("" for a request not read by a server).
func parseTarget(u *url.URL, requestURI string) (serial, devicePath string, p *problem.Problem) {
	refuse := func(detail string) (string, string, *problem.Problem) {
		return "", "", problem.New(PathRefused, detail)
	}
	if requestURI != "" && !strings.HasPrefix(requestURI, "/") {
		return refuse("the request target must be a path (origin form), not an absolute URL or authority")
	}
	if u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return refuse("the request target must be a path (origin form), not an absolute URL or authority")
	}
	// The serial and the path are taken from the escaped form, as the relay took them, so
	// that an encoded separator stays visible to linkapi.CheckSubPath.
	rest, ok := strings.CutPrefix(u.EscapedPath(), PathPrefix)
	if !ok {
		return refuse("the path must start with " + PathPrefix)
	}
	serial, sub, ok := strings.Cut(rest, vapixSegment)
	if !ok {
		return refuse("the path must be " + PathPrefix + "{serial}/vapix/{path}")
	}
	if !validSerial(serial) {
		// Not a serial any inventory holds: the same answer as an unknown one.
		return "", "", problem.New(DeviceUnknown, "no such device")
	}
	sub, err := linkapi.CheckSubPath(sub)
	if err != nil {
		return refuse(err.Error())
	}
	return serial, "/" + sub, nil
}

// validSerial accepts what could be a serial number: letters, digits, '-' and '_'.
func validSerial(s string) bool {
	return s != "" && len(s) <= maxSerial && alnumOr(s, "-_")
}

// validAddr checks a device address from the inventory: host:port with an IP address or
// a DNS name as host and a port from 1 to 65535, so that it can only name one host.
func validAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return validZone(ip.Zone()) // an interface name for a link-local IPv6 address
	}
	if strings.HasPrefix(addr, "[") || len(host) > 253 {
		return false // brackets hold IPv6 addresses only
	}
	labels := strings.Split(host, ".")
	if alnumOr(labels[len(labels)-1], "") && strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false // all digits: an IPv4 address in a form some resolvers take (017, 2130706433)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' || !alnumOr(label, "-") {
			return false
		}
	}
	return true
}

func validZone(z string) bool { return len(z) <= 32 && alnumOr(z, "-_.") }

// alnumOr reports whether s has only ASCII letters, digits and bytes of extra.
func alnumOr(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}
