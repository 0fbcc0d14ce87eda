package discovery

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reads serial numbers out of what the network says (mDNS TXT records,
// DNS-SD instance names, basicdeviceinfo replies). All of it is outside input.

// normalizeSerial returns s as 12 upper-case hex digits, accepting lower case and the
// MAC forms with ':' or '-' between byte pairs; "" when s is not a serial.
func normalizeSerial(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 17 {
		sep := s[2]
		if sep != ':' && sep != '-' {
			return ""
		}
		var b strings.Builder
		for i := 0; i < 17; i += 3 {
			if i > 0 && s[i-1] != sep {
				return ""
			}
			b.WriteString(s[i : i+2])
		}
		s = b.String()
	}
	if len(s) != 12 {
		return ""
	}
	out := make([]byte, 12)
	for i := 0; i < 12; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
			out[i] = c
		case c >= 'a' && c <= 'f':
			out[i] = c - 'a' + 'A'
		default:
			return ""
		}
	}
	return string(out)
}

// serialFromTXT finds macaddress=<SERIAL> among DNS-SD TXT strings (keys are
// case-insensitive, RFC 6763 section 6.4); "" when there is none or it is not a serial.
func serialFromTXT(txt []string) string {
	for _, kv := range txt {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "macaddress") {
			return normalizeSerial(v)
		}
	}
	return ""
}

// serialFromInstance reads the serial from an instance name such as
// "AXIS M1065-LW - ACCC12345678", as older AXIS OS versions announce themselves (newer
// ones leave it out). A " (2)" that mDNS conflict resolution may append is allowed.
func serialFromInstance(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndex(name, " ("); i >= 0 && strings.HasSuffix(name, ")") {
		if _, err := strconv.Atoi(name[i+2 : len(name)-1]); err == nil {
			name = strings.TrimSpace(name[:i])
		}
	}
	i := strings.LastIndex(name, "- ")
	if i < 0 {
		return ""
	}
	tail := strings.TrimSpace(name[i+2:])
	if len(tail) != 12 { // the plain form only: a MAC with separators here is not Axis's
		return ""
	}
	return normalizeSerial(tail)
}

// unescapeInstance undoes the DNS presentation-format escaping that browsing returns
// instance names in ("AXIS\ P3265-V" or "AXIS\032P3265-V" for "AXIS P3265-V"). Bad
// escapes are kept as they are.
func unescapeInstance(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n, _ := strconv.Atoi(s[i+1 : i+4]); n <= 255 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cleanName makes an instance name safe to show and log: valid UTF-8, no control
// characters, at most 255 bytes (a DNS-SD instance label has at most 63, escaped 4 times
// that).
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	for len(s) > 255 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}
