package egress

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// PathPrefix is where a Proxy serves: PathPrefix + "{serial}/vapix/{path...}".
const PathPrefix = "/v1/devices/"

// vapixSegment separates the serial from the device path.
const vapixSegment = "/vapix/"

const (
	maxSerial     = 64
	maxDevicePath = 2048
)

// parseTarget checks the request target and returns the device's serial and the path to
// request on the device, which is clean, absolute and made of RFC 3986 path characters
// only (so it is its own escaped form). u is the request's URL and requestURI the
// request line's target as the server read it ("" for a request not read by a server).
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
	// A percent-encoded slash or backslash would become a separator once decoded.
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return refuse("encoded slashes and backslashes are not allowed in the path")
	}
	rest, ok := strings.CutPrefix(u.Path, PathPrefix)
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
	if p := checkSubPath(sub); p != nil {
		return "", "", p
	}
	return serial, "/" + sub, nil
}

// checkSubPath checks the path a request names on its target (after /vapix/, or after a
// VMS server's name): not empty, not too long, RFC 3986 path characters only, no "." or
// ".." segments and no empty ones.
func checkSubPath(sub string) *problem.Problem {
	refuse := func(detail string) *problem.Problem { return problem.New(PathRefused, detail) }
	if sub == "" {
		return refuse("a path is required after the device or VMS server")
	}
	if len(sub) > maxDevicePath {
		return refuse("the device path is too long")
	}
	for i := 0; i < len(sub); i++ {
		if !pathChar(sub[i]) {
			return refuse("the device path has a character that is not allowed (" + strconv.QuoteRune(rune(sub[i])) + ")")
		}
	}
	segs := strings.Split(sub, "/")
	for i, s := range segs {
		switch {
		case s == "." || s == "..":
			return refuse(`"." and ".." are not allowed in the device path`)
		case s == "" && i < len(segs)-1:
			return refuse("empty segments are not allowed in the device path")
		}
	}
	return nil
}

// validSerial accepts what could be a serial number: letters, digits, '-' and '_'.
func validSerial(s string) bool {
	return s != "" && len(s) <= maxSerial && alnumOr(s, "-_")
}

// pathChar reports whether c may appear in a device path: RFC 3986 pchar (unreserved,
// sub-delims, ':' and '@') and '/', never percent-encoded. Everything else (space, '%',
// '\', '?', '#', controls, NUL, non-ASCII) is refused.
func pathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
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
