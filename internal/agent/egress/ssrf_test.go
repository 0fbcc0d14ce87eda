package egress

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// TestSSRF tries every way we know to make the proxy reach something other than an
// inventory device's VAPIX, each with raw bytes on the wire. A second server stands for
// "elsewhere" (another host on the agent's network); it must never be reached.
func TestSSRF(t *testing.T) {
	var elsewhereHits atomic.Int64
	elsewhere := newFakeDevice(t, func(http.ResponseWriter, *http.Request) { elsewhereHits.Add(1) })
	other := elsewhere.addr()
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect-away":
			http.Redirect(w, r, "http://"+other+"/x", http.StatusFound)
		case "/redirect-scheme-relative":
			w.Header().Set("Location", "//"+other+"/x")
			w.WriteHeader(http.StatusMovedPermanently)
		case "/redirect-other-scheme":
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
		case "/redirect-local":
			w.Header().Set("Location", "/local")
			w.WriteHeader(http.StatusFound)
		default:
			_, _ = io.WriteString(w, "device "+r.Host+" "+r.URL.RequestURI())
		}
	})
	const serial = "ACCC8E00000A"
	inv := &inventory{}
	inv.set(serial, Target{Addr: dev.addr(), User: "agent", Password: "secret"})
	_, srv := startProxy(t, inv)
	pre := PathPrefix + serial + "/vapix/"

	cases := []struct {
		name, method, target string
		headers              []string
		status               int
		typ                  problem.Type // zero: the device's own answer
		devicePath           string       // the request the device must see ("" when none)
	}{
		{name: "unknown serial", target: PathPrefix + "ACCC8E0000FF/vapix/axis-cgi/param.cgi", status: 404, typ: DeviceUnknown},
		{name: "address as serial", target: PathPrefix + other + "/vapix/x", status: 404, typ: DeviceUnknown},
		{name: "encoded address as serial", target: PathPrefix + strings.ReplaceAll(other, ":", "%3A") + "/vapix/x", status: 404, typ: DeviceUnknown},
		{name: "URL in path", target: pre + "http://" + other + "/x", status: 400, typ: PathRefused},
		{name: "scheme-relative path", target: pre + "/" + other + "/x", status: 400, typ: PathRefused},
		{name: "userinfo-like path stays on the device", target: pre + "@" + other + "/x", status: 200, devicePath: "/@" + other + "/x"},
		{name: "URL in query stays on the device", target: pre + "axis-cgi/x.cgi?url=http://" + other + "/", status: 200, devicePath: "/axis-cgi/x.cgi?url=http://" + other + "/"},
		{name: "dot-dot", target: pre + "../../../etc/passwd", status: 400, typ: PathRefused},
		{name: "dot-dot inside", target: pre + "axis-cgi/../../x", status: 400, typ: PathRefused},
		{name: "dot-dot to another serial", target: pre + "../../ACCC8E0000FF/vapix/x", status: 400, typ: PathRefused},
		{name: "trailing dot-dot", target: pre + "axis-cgi/..", status: 400, typ: PathRefused},
		{name: "dot", target: pre + "./axis-cgi/x", status: 400, typ: PathRefused},
		{name: "encoded dot-dot", target: pre + "%2e%2e/%2e%2e/x", status: 400, typ: PathRefused},
		{name: "encoded dot-dot, upper case", target: pre + "%2E%2E/x", status: 400, typ: PathRefused},
		{name: "half-encoded dot-dot", target: pre + ".%2e/x", status: 400, typ: PathRefused},
		{name: "double-encoded dot-dot", target: pre + "%252e%252e/x", status: 400, typ: PathRefused},
		{name: "encoded slash", target: pre + "axis-cgi%2fparam.cgi", status: 400, typ: PathRefused},
		{name: "encoded slash traversal", target: pre + "..%2f..%2fx", status: 400, typ: PathRefused},
		{name: "encoded slash, upper case", target: pre + "..%2F..%2Fx", status: 400, typ: PathRefused},
		{name: "backslash", target: pre + `..\..\x`, status: 400, typ: PathRefused},
		{name: "encoded backslash", target: pre + "..%5c..%5cx", status: 400, typ: PathRefused},
		{name: "encoded NUL", target: pre + "x%00.cgi", status: 400, typ: PathRefused},
		{name: "encoded CRLF", target: pre + "x%0d%0aHost:%20" + other, status: 400, typ: PathRefused},
		{name: "encoded space", target: pre + "x%20y", status: 400, typ: PathRefused},
		{name: "empty segment", target: pre + "axis-cgi//x", status: 400, typ: PathRefused},
		{name: "no device path", target: pre, status: 400, typ: PathRefused},
		{name: "no vapix segment", target: PathPrefix + serial + "/other/x", status: 400, typ: PathRefused},
		{name: "outside the prefix", target: "/v1/status", status: 400, typ: PathRefused},
		{name: "absolute-form elsewhere", target: "http://" + other + pre + "x", status: 400, typ: PathRefused},
		{name: "absolute-form to the proxy", target: srv.URL + pre + "x", status: 400, typ: PathRefused},
		{name: "CONNECT", method: "CONNECT", target: other, status: 405, typ: problem.MethodNotAllowed},
		{name: "TRACE", method: "TRACE", target: pre + "x", status: 405, typ: problem.MethodNotAllowed},
		{name: "Host override", target: pre + "host-check", headers: []string{"Host: " + other}, status: 200, devicePath: "/host-check"},
		{name: "X-Forwarded-Host override", target: pre + "fwd-check", headers: []string{"X-Forwarded-Host: " + other}, status: 200, devicePath: "/fwd-check"},
		{name: "redirect elsewhere", target: pre + "redirect-away", status: 502, typ: DeviceRedirect, devicePath: "/redirect-away"},
		{name: "scheme-relative redirect", target: pre + "redirect-scheme-relative", status: 502, typ: DeviceRedirect, devicePath: "/redirect-scheme-relative"},
		{name: "redirect to another scheme", target: pre + "redirect-other-scheme", status: 502, typ: DeviceRedirect, devicePath: "/redirect-other-scheme"},
		{name: "redirect on the device passes, unfollowed", target: pre + "redirect-local", status: 302, devicePath: "/redirect-local"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			seen := len(dev.requests())
			res := rawRequest(t, srv, method, c.target, c.headers...)
			if res.StatusCode != c.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("%s %s: %d %q; want %d", method, c.target, res.StatusCode, b, c.status)
			}
			if c.typ != (problem.Type{}) {
				if p := readProblem(t, res); p.Type != c.typ.URI {
					t.Fatalf("problem type %s; want %s", p.Type, c.typ.URI)
				}
			} else {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if c.status == 200 && string(b) != "device "+dev.addr()+" "+c.devicePath {
					t.Fatalf("device answered %q; want it to see Host %s and %s", b, dev.addr(), c.devicePath)
				}
				if c.status == 302 && res.Header.Get("Location") != "/local" {
					t.Fatalf("Location %q", res.Header.Get("Location"))
				}
			}
			got := dev.requests()[seen:]
			switch {
			case c.devicePath == "" && len(got) != 0:
				t.Fatalf("a refused request reached the device: %s", got[0].URL)
			case c.devicePath != "" && (len(got) != 1 || got[0].URL.RequestURI() != c.devicePath || got[0].Host != dev.addr()):
				t.Fatalf("device saw %d requests (%v); want one for %s", len(got), got, c.devicePath)
			}
		})
	}
	if n := elsewhereHits.Load(); n != 0 {
		t.Fatalf("the other host was reached %d times", n)
	}
}

// A device whose inventory address resolves outside the networks the agent may reach
// (Config.DialControl) is not connected to: the caller gets 403 address-refused with
// the reason, and the device sees nothing.
func TestDialControlRefusesTheDevice(t *testing.T) {
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") })
	inv := &inventory{}
	inv.set("ACCC8E000001", Target{Addr: "localhost:" + dev.addr()[strings.LastIndex(dev.addr(), ":")+1:], User: "u", Password: "p"})
	_, srv := startProxy(t, inv, func(c *Config) {
		c.DialControl = func(_, address string, _ syscall.RawConn) error {
			return errors.New("address " + address + " is not for devices")
		}
	})
	res := rawRequest(t, srv, "GET", PathPrefix+"ACCC8E000001/vapix/axis-cgi/jpg/image.cgi")
	p := readProblem(t, res)
	if res.StatusCode != http.StatusForbidden || p.Type != AddressRefused.URI || !strings.Contains(p.Detail, "is not for devices") || len(dev.requests()) != 0 {
		t.Fatalf("refused device: %d %+v, %d requests reached it", res.StatusCode, p, len(dev.requests()))
	}
}
