package egress

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

func TestParseTarget(t *testing.T) {
	good := []struct{ target, serial, path string }{
		{"/v1/devices/ACCC8E000001/vapix/axis-cgi/param.cgi?action=list", "ACCC8E000001", "/axis-cgi/param.cgi"},
		{"/v1/devices/ACCC8E000001/vapix/vapix/ws-data-stream?sources=events", "ACCC8E000001", "/vapix/ws-data-stream"},
		{"/v1/devices/ACCC8E000001/vapix/axis-cgi/jpg/image.cgi", "ACCC8E000001", "/axis-cgi/jpg/image.cgi"},
		{"/v1/devices/ACCC8E000001/vapix/local/app/", "ACCC8E000001", "/local/app/"},
		{"/v1/devices/ACCC8E000001/vapix/a%2Db", "ACCC8E000001", "/a-b"},
		{"/v1/devices/ACCC8E000001/vapix/...", "ACCC8E000001", "/..."},
	}
	for _, g := range good {
		u, err := url.ParseRequestURI(g.target)
		if err != nil {
			t.Fatal(err)
		}
		serial, p, prob := parseTarget(u, g.target)
		if prob != nil || serial != g.serial || p != g.path {
			t.Errorf("%s: %q %q %v; want %q %q", g.target, serial, p, prob, g.serial, g.path)
		}
	}
	// Requests made in code rather than read by a server.
	for _, u := range []*url.URL{
		{Path: "/v1/devices/S/vapix/a\x00b"},
		{Path: "/v1/devices/S/vapix/a\\b"},
		{Path: "/v1/devices/S/vapix/a/../b"},
		{Scheme: "http", Host: "10.0.0.1", Path: "/v1/devices/S/vapix/a"},
		{Opaque: "10.0.0.1:80"},
	} {
		if _, _, prob := parseTarget(u, ""); prob == nil {
			t.Errorf("%#v accepted", u)
		}
	}
}

func TestValidAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "[::1]:8080", "cam-1.local:443", "[fe80::1%eth0]:80"} {
		if !validAddr(a) {
			t.Errorf("%s refused", a)
		}
	}
	for _, a := range []string{"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80", "a@127.0.0.1:80",
		"127.0.0.1:80/x", "host/x:80", "[fe80::1%e/x]:80", "[0]:1", "[cam.local]:80", "2130706433:80", "0x7f.1:80", "017.0.0.1:80", "-bad.local:80", "a..b:80", "127.0.0.1:80#", "[::1]:80?"} {
		if validAddr(a) {
			t.Errorf("%s accepted", a)
		}
	}
}

// FuzzParseTarget feeds request targets as a server would read them. Whatever is
// accepted must name an inventory-style serial and a clean device path that, put after
// a device's address, stays on that device and means exactly what the caller named.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"/v1/devices/ACCC8E000001/vapix/axis-cgi/param.cgi?action=list",
		"/v1/devices/ACCC8E000001/vapix/../../x",
		"/v1/devices/ACCC8E000001/vapix/%2e%2e/x",
		"/v1/devices/ACCC8E000001/vapix/.%2E/x",
		"/v1/devices/ACCC8E000001/vapix/..%2fx",
		"/v1/devices/ACCC8E000001/vapix/..%5cx",
		"/v1/devices/ACCC8E000001/vapix/%252e%252e/x",
		"/v1/devices/ACCC8E000001/vapix/a%00b",
		"/v1/devices/ACCC8E000001/vapix//evil/x",
		"/v1/devices/ACCC8E000001/vapix/@evil:80/x",
		"/v1/devices/ACCC8E000001/vapix/http://evil/x",
		"/v1/devices/127.0.0.1:80/vapix/x",
		"/v1/devices/ACCC8E000001/vapix/x#frag",
		"http://evil/v1/devices/ACCC8E000001/vapix/x",
		"//evil/v1/devices/ACCC8E000001/vapix/x",
		"/v1/devices/ACCC8E000001/vapix/a\\b",
		"/v1/devices/ACCC8E000001/vapix/%e2%80%ae",
		"*",
	} {
		f.Add(s)
	}
	const addr = "192.0.2.10:80"
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		serial, devicePath, prob := parseTarget(u, target)
		if prob != nil {
			if serial != "" || devicePath != "" {
				t.Fatalf("refused but returned %q %q", serial, devicePath)
			}
			return
		}
		if !validSerial(serial) {
			t.Fatalf("%q: serial %q accepted", target, serial)
		}
		if !strings.HasPrefix(devicePath, "/") || len(devicePath) < 2 {
			t.Fatalf("%q: device path %q", target, devicePath)
		}
		if again, err := linkapi.CheckSubPath(devicePath[1:]); err != nil || again != devicePath[1:] {
			t.Fatalf("%q: device path %q is not its own escaped form under the link's rule: %q %v", target, devicePath, again, err)
		}
		if c := path.Clean(devicePath); c != strings.TrimSuffix(devicePath, "/") {
			t.Fatalf("%q: device path %q is not clean (%q)", target, devicePath, c)
		}
		out, err := url.Parse("http://" + addr + devicePath)
		if err != nil || out.Host != addr || out.Path != devicePath || out.EscapedPath() != devicePath || out.RawQuery != "" || out.User != nil {
			t.Fatalf("%q: device path %q leaves the device: %v %v", target, devicePath, out, err)
		}
		if u.Path != PathPrefix+serial+"/vapix"+devicePath {
			t.Fatalf("%q: forwards %q for %q", target, devicePath, u.Path)
		}
	})
}

// FuzzValidAddr: an accepted inventory address names exactly one host and port.
func FuzzValidAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:8080", "cam.local:443", "a@b:80", "b:80/x", "[fe80::1%eth0]:80", "[fe80::1%25eth0]:80", "x:80#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if !validAddr(addr) {
			return
		}
		// A URL escapes the '%' of an IPv6 zone.
		u, err := url.Parse("http://" + strings.Replace(addr, "%", "%25", 1) + "/axis-cgi/x.cgi")
		if err != nil {
			t.Fatalf("%q: %v", addr, err)
		}
		if u.Host != addr || u.User != nil || u.Path != "/axis-cgi/x.cgi" {
			t.Fatalf("%q becomes host %q, user %v, path %q", addr, u.Host, u.User, u.Path)
		}
	})
}
