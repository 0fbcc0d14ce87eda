package discovery

import (
	"net"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/grandcat/zeroconf"

	"github.com/opencamcloud/camcloud/simulators/mdns"
)

func TestServiceTypeMatchesSimulator(t *testing.T) {
	if ServiceType != mdns.ServiceType {
		t.Fatalf("ServiceType %q, camsim announces %q", ServiceType, mdns.ServiceType)
	}
}

func TestNormalizeSerial(t *testing.T) {
	for in, want := range map[string]string{
		"ACCC8E010000":      "ACCC8E010000",
		"accc8e01000a":      "ACCC8E01000A",
		" B8A44F631339 ":    "B8A44F631339",
		"B8:A4:4F:63:13:39": "B8A44F631339",
		"b8-a4-4f-63-13-39": "B8A44F631339",
		"B8:A4-4F:63:13:39": "",
		"B8A44F63133":       "",
		"B8A44F6313390":     "",
		"B8A44F63133G":      "",
		"":                  "",
		"B8.A4.4F.63.13.39": "",
	} {
		if got := normalizeSerial(in); got != want {
			t.Errorf("normalizeSerial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSerialFromTXTAndInstance(t *testing.T) {
	txt := []struct {
		in   []string
		want string
	}{
		{[]string{"macaddress=ACCC8E010000"}, "ACCC8E010000"},
		{[]string{"path=/", "MACAddress=accc8e010001"}, "ACCC8E010001"},
		{[]string{"macaddress="}, ""},
		{[]string{"macaddress"}, ""},
		{[]string{"mac=ACCC8E010000"}, ""},
		{nil, ""},
	}
	for _, c := range txt {
		if got := serialFromTXT(c.in); got != c.want {
			t.Errorf("serialFromTXT(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"AXIS M1065-LW - ACCC12345678":     "ACCC12345678",
		"AXIS M1065-LW - accc12345678 (2)": "ACCC12345678",
		"AXIS P3265-V":                     "",
		"AXIS P3265-V - ":                  "",
		"- 00408C123456":                   "00408C123456",
		"AXIS Q - 00:40:8C:12:34:56":       "",
		"AXIS Q - 00408C1234567":           "",
		"AXIS Q - 00408C123456 (x)":        "",
	} {
		if got := serialFromInstance(in); got != want {
			t.Errorf("serialFromInstance(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescapeInstance(t *testing.T) {
	for in, want := range map[string]string{
		`AXIS\ P3265-V\ -\ ACCC8E010000`: "AXIS P3265-V - ACCC8E010000",
		`AXIS\032P3265-V`:                "AXIS P3265-V",
		`a\.b`:                           "a.b",
		`trailing\`:                      `trailing\`,
		`big\999`:                        "big999",
		`plain`:                          "plain",
	} {
		if got := unescapeInstance(in); got != want {
			t.Errorf("unescapeInstance(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"AXIS P3265-V":           "AXIS P3265-V",
		" Lobby\x00 cam\n":       "Lobby cam",
		"bad \xff byte":          "bad \uFFFD byte",
		strings.Repeat("é", 200): strings.Repeat("é", 127),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSightingFrom(t *testing.T) {
	entry := func(instance string, txt []string, port int, ips ...string) *zeroconf.ServiceEntry {
		e := zeroconf.NewServiceEntry(instance, ServiceType, "local.")
		e.Text, e.Port = txt, port
		for _, ip := range ips {
			e.AddrIPv4 = append(e.AddrIPv4, net.ParseIP(ip))
		}
		return e
	}
	s, ok := sightingFrom(entry(`AXIS\ P3265-V`, []string{"macaddress=ACCC8E010000"}, 8081, "169.254.1.2", "127.0.0.1"))
	if !ok || s.serial != "ACCC8E010000" || s.addr != "127.0.0.1:8081" || s.name != "AXIS P3265-V" {
		t.Errorf("TXT serial, link-local address after the other: %+v %v", s, ok)
	}
	if !s.announces("169.254.1.2:8081") || s.announces("169.254.1.2:80") {
		t.Errorf("announces: %+v", s)
	}
	s, ok = sightingFrom(entry(`AXIS\ M1065-LW\ -\ ACCC12345678`, nil, 80, "169.254.1.2"))
	if !ok || s.serial != "ACCC12345678" || s.addr != "169.254.1.2:80" {
		t.Errorf("serial from the instance name, link-local address alone: %+v %v", s, ok)
	}
	for name, e := range map[string]*zeroconf.ServiceEntry{
		"no serial":   entry(`AXIS\ P3265-V`, []string{"path=/"}, 80, "127.0.0.1"),
		"no IPv4":     entry(`x`, []string{"macaddress=ACCC8E010000"}, 80),
		"bad port":    entry(`x`, []string{"macaddress=ACCC8E010000"}, 0, "127.0.0.1"),
		"nil entry":   nil,
		"unspecified": entry(`x`, []string{"macaddress=ACCC8E010000"}, 80, "0.0.0.0"),
	} {
		if s, ok := sightingFrom(e); ok {
			t.Errorf("%s: used %+v", name, s)
		}
	}
}

func TestNormalizeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8081":         "127.0.0.1:8081",
		"127.0.0.1":              "127.0.0.1:80",
		"http://127.0.0.1:8081/": "127.0.0.1:8081",
		"HTTP://cam.local":       "cam.local:80",
		"[::1]:8081":             "[::1]:8081",
		"::1":                    "[::1]:80",
		"[::1]":                  "[::1]:80",
		" axis-accc8e010000 ":    "axis-accc8e010000:80",
		"https://127.0.0.1":      "",
		"127.0.0.1:0":            "",
		"127.0.0.1:65536":        "",
		"127.0.0.1:+80":          "",
		"127.0.0.1:080":          "",
		"":                       "",
		"http://":                "",
		"a/b:80":                 "",
		"user@host:80":           "",
		"host:80/path":           "",
		"bad host":               "",
	} {
		got, err := normalizeAddr(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("normalizeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzSerialFromAnnouncement feeds what an mDNS answer carries (instance name and TXT
// strings, separated by NUL) to the parsers: whatever they return is a serial (12
// upper-case hex digits) or nothing, and a serial read back from TXT is itself.
func FuzzSerialFromAnnouncement(f *testing.F) {
	f.Add(`AXIS\ P3265-V`, "macaddress=B8A44F631339")
	f.Add(`AXIS\ M1065-LW\ -\ ACCC12345678`, "")
	f.Add(`AXIS\032Q\0321615 - accc12345678 (3)`, "path=/\x00MacAddress=AC:CC:8E:01:00:00")
	f.Fuzz(func(t *testing.T, instance, txt string) {
		name := unescapeInstance(instance)
		if len(name) > len(instance) {
			t.Fatalf("unescaping %q grew it to %q", instance, name)
		}
		for _, serial := range []string{serialFromTXT(strings.Split(txt, "\x00")), serialFromInstance(name), normalizeSerial(txt)} {
			if serial == "" {
				continue
			}
			if !isSerial(serial) {
				t.Fatalf("parsed serial %q from %q / %q", serial, instance, txt)
			}
			if again := serialFromTXT([]string{"macaddress=" + serial}); again != serial {
				t.Fatalf("serial %q reads back as %q", serial, again)
			}
		}
		e := zeroconf.NewServiceEntry(instance, ServiceType, "local.")
		e.Text, e.Port, e.AddrIPv4 = strings.Split(txt, "\x00"), 80, []net.IP{net.IPv4(127, 0, 0, 1)}
		if s, ok := sightingFrom(e); ok && (!isSerial(s.serial) || s.addr != "127.0.0.1:80" || !utf8.ValidString(s.name) ||
			len(s.name) > 255 || strings.IndexFunc(s.name, unicode.IsControl) >= 0) {
			t.Fatalf("sighting %+v", s)
		}
	})
}

// FuzzNormalizeAddr: an address accepted is host:port with a valid port, and accepted
// again unchanged.
func FuzzNormalizeAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8081", "http://[::1]:80/", "cam.local", "a:b:c", "1.2.3.4:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizeAddr(in)
		if err != nil {
			return
		}
		host, port, err := net.SplitHostPort(out)
		if err != nil || host == "" || port == "" || port == "0" {
			t.Fatalf("normalizeAddr(%q) = %q", in, out)
		}
		if again, err := normalizeAddr(out); err != nil || again != out {
			t.Fatalf("normalizeAddr(%q) = %q, then %q, %v", in, out, again, err)
		}
	})
}

func isSerial(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
