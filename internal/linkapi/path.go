package linkapi

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// MaxSubPath bounds the path an EdgeLink call names on its target, in bytes as decoded.
const MaxSubPath = 2048

// CheckSubPath is the one rule for the path an EdgeLink call names on its target (after
// /vapix/ of a device, or after a VMS server's name). The relay applies it to what the
// caller sent and the agent again to what it receives, both to the escaped form, so that
// no hop reads a path another hop refused. escaped is the path as it travels (without a
// leading slash); the answer is its decoded form, which is made of RFC 3986 path
// characters only and so is its own escaped form.
//
// Refused: an empty path, an encoded slash or backslash (a separator once decoded), a bad
// or double percent-encoding ('%' after decoding), "." and ".." segments (plain or
// encoded), empty segments, and any byte outside the RFC 3986 path characters after
// decoding (space, '\', '?', '#', controls, NUL, non-ASCII). The error says which, for a
// problem's detail.
func CheckSubPath(escaped string) (string, error) {
	if escaped == "" {
		return "", errors.New("a path is required after the device or VMS server")
	}
	lower := strings.ToLower(escaped)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return "", errors.New("encoded slashes and backslashes are not allowed in the path")
	}
	sub, err := url.PathUnescape(escaped)
	if err != nil {
		return "", errors.New("the path has a bad percent-encoding")
	}
	if len(sub) > MaxSubPath {
		return "", errors.New("the device path is too long")
	}
	for i := 0; i < len(sub); i++ {
		if !pathChar(sub[i]) {
			return "", errors.New("the device path has a character that is not allowed (" + strconv.QuoteRune(rune(sub[i])) + ")")
		}
	}
	segs := strings.Split(sub, "/")
	for i, s := range segs {
		switch {
		case s == "." || s == "..":
			return "", errors.New(`"." and ".." are not allowed in the device path`)
		case s == "" && i < len(segs)-1:
			return "", errors.New("empty segments are not allowed in the device path")
		}
	}
	return sub, nil
}

// pathChar reports whether c may appear in a decoded EdgeLink path: RFC 3986 pchar
// (unreserved, sub-delims, ':' and '@') and '/'. '%' is not one: after decoding it can
// only come from a double encoding.
func pathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}
