package ssdp

import (
	"strings"
	"testing"
)

func TestParseSearch(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Search
		ok   bool
	}{
		{"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n", Search{ST: "ssdp:all", MAN: `"ssdp:discover"`, MX: 2}, true},
		{"M-SEARCH * HTTP/1.1\nst:upnp:rootdevice\nman:\"ssdp:discover\"\n\n", Search{ST: "upnp:rootdevice", MAN: `"ssdp:discover"`, MX: -1}, true},
		{"M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: x\r\nST: a\r\n\r\n", Search{ST: "a", MAN: `"ssdp:discover"`, MX: -1}, true},
		{"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n", Search{}, false},
		{"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n", Search{}, false},            // no MAN
		{"M-SEARCH * HTTP/1.1\r\nbroken line\r\n\r\n", Search{}, false},             // no colon
		{"M-SEARCH * HTTP/1.1\r\nMAN: ssdp:discover\r\nST: a\r\n", Search{}, false}, // MAN unquoted
		{"", Search{}, false},
	} {
		got, err := ParseSearch([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSearch(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzParseSearch: any datagram is parsed without panicking, and what is accepted is a
// search with a target and the discover MAN.
func FuzzParseSearch(f *testing.F) {
	f.Add([]byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:axis-com:service:BasicService:1\r\n\r\n"))
	f.Add([]byte("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSearch(b)
		if err != nil {
			return
		}
		if s.ST == "" || s.MAN != `"ssdp:discover"` || s.MX < -1 || strings.ContainsAny(s.ST, "\r\n") {
			t.Fatalf("accepted %q as %+v", b, s)
		}
	})
}

func TestParseSearchRefusesStrayCarriageReturn(t *testing.T) {
	if s, err := ParseSearch([]byte("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: a\rX: b\r\n\r\n")); err == nil {
		t.Fatalf("accepted %+v", s)
	}
}
