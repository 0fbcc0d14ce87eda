package egress

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
)

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{MaxConcurrent: -1, Timeout: -time.Second})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"Devices", "MaxConcurrent", "Timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// TestHeaders: the caller's credentials, cookies, forwarding and hop-by-hop headers never
// reach the device; the device's challenges, cookies and auth info never reach the caller.
func TestHeaders(t *testing.T) {
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Set-Cookie", "session=device-session")
		h.Set("WWW-Authenticate", `Digest realm="x", nonce="y"`)
		h.Set("Authentication-Info", `rspauth="z"`)
		h.Set("X-Device", "kept")
		_, _ = io.WriteString(w, "ok")
	})
	inv := &inventory{}
	inv.set("S1", Target{Addr: dev.addr(), User: "agent", Password: "secret"})
	_, srv := startProxy(t, inv)
	res := rawRequest(t, srv, "GET", PathPrefix+"S1/vapix/axis-cgi/x.cgi",
		"Authorization: Digest username=\"root\"", "Proxy-Authorization: Basic eDp5", "Cookie: a=b",
		"X-Forwarded-For: 10.0.0.1", "X-Forwarded-Host: evil", "X-Forwarded-Proto: https", "X-Forwarded-Port: 1",
		"Forwarded: for=10.0.0.1", "X-Real-IP: 10.0.0.1", "Connection: X-Hop, close", "X-Hop: 1", "Keep-Alive: timeout=5",
		"Te: gzip", "X-Custom: passed")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("%d %q", res.StatusCode, b)
	}
	for _, h := range []string{"Set-Cookie", "Www-Authenticate", "Authentication-Info"} {
		if v := res.Header.Get(h); v != "" {
			t.Errorf("caller got %s: %s", h, v)
		}
	}
	if res.Header.Get("X-Device") != "kept" {
		t.Error("the device's own header was dropped")
	}
	got := dev.requests()
	if len(got) != 1 {
		t.Fatalf("device saw %d requests", len(got))
	}
	for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Host",
		"X-Forwarded-Proto", "X-Forwarded-Port", "Forwarded", "X-Real-Ip", "X-Hop", "Keep-Alive", "Te"} {
		if v := got[0].Header.Get(h); v != "" {
			t.Errorf("device got %s: %s", h, v)
		}
	}
	if got[0].Header.Get("X-Custom") != "passed" {
		t.Error("an end-to-end header was dropped")
	}
}

// TestDeviceRefusesCredentials: a 401 from the device means the agent's account failed;
// the caller gets a 502 problem and never the device's challenge.
func TestDeviceRefusesCredentials(t *testing.T) {
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Digest realm="AXIS_ACCC8E000001", nonce="abc", algorithm=MD5, qop="auth"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":401}}`)
	})
	inv := &inventory{}
	inv.set("S1", Target{Addr: dev.addr(), User: "agent", Password: "wrong"})
	_, srv := startProxy(t, inv)
	res, err := http.Post(srv.URL+PathPrefix+"S1/vapix/axis-cgi/basicdeviceinfo.cgi", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusBadGateway || res.Header.Get("Www-Authenticate") != "" {
		t.Fatalf("%d, challenge %q", res.StatusCode, res.Header.Get("Www-Authenticate"))
	}
	if p := readProblem(t, res); p.Type != DeviceAuthFailed.URI {
		t.Fatalf("problem %s", p.Type)
	}
	// The proxy answered the challenge once with the agent's account, then gave up.
	got := dev.requests()
	if len(got) != 2 || got[0].Header.Get("Authorization") != "" || !strings.Contains(got[1].Header.Get("Authorization"), `username="agent"`) {
		t.Fatalf("device saw %d requests", len(got))
	}
}

func TestGatewayErrors(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	release := make(chan struct{})
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/error":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "device failure")
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/drop":
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}
	})
	t.Cleanup(func() { close(release) })
	inv := &inventory{}
	inv.set("UP", Target{Addr: dev.addr(), User: "a", Password: "b"})
	inv.set("DOWN", Target{Addr: deadAddr, User: "a", Password: "b"})
	inv.set("BADADDR", Target{Addr: dev.addr() + "/x", User: "a", Password: "b"})
	inv.set("USERINFO", Target{Addr: "a@" + dev.addr(), User: "a", Password: "b"})
	_, srv := startProxy(t, inv, func(c *Config) { c.Timeout = 300 * time.Millisecond })

	get := func(path string) *http.Response {
		t.Helper()
		res, err := http.Get(srv.URL + PathPrefix + path)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// A device error is the device's answer, passed through as is.
	res := get("UP/vapix/error")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || string(b) != "device failure" {
		t.Fatalf("device 500: %d %q", res.StatusCode, b)
	}
	for _, c := range []struct {
		path string
		typ  problem.Type
	}{
		{"DOWN/vapix/axis-cgi/x.cgi", DeviceUnreachable},
		{"UP/vapix/drop", DeviceUnreachable},
		{"UP/vapix/slow", DeviceTimeout},
		{"BADADDR/vapix/x", DeviceUnreachable},
		{"USERINFO/vapix/x", DeviceUnreachable},
	} {
		start := time.Now()
		res := get(c.path)
		if p := readProblem(t, res); p.Type != c.typ.URI || res.StatusCode != c.typ.Status {
			t.Errorf("%s: %d %s; want %d %s", c.path, res.StatusCode, p.Type, c.typ.Status, c.typ.URI)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %s", c.path, d)
		}
	}
}

func TestTooBusy(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	inv := &inventory{}
	inv.set("S1", Target{Addr: dev.addr(), User: "a", Password: "b"})
	_, srv := startProxy(t, inv, func(c *Config) { c.MaxConcurrent = 1; c.QueueWait = 100 * time.Millisecond })
	done := make(chan int)
	go func() {
		res, err := http.Get(srv.URL + PathPrefix + "S1/vapix/first")
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	<-entered
	res, err := http.Get(srv.URL + PathPrefix + "S1/vapix/second")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("second request: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if p := readProblem(t, res); p.Type != TooBusy.URI {
		t.Fatalf("problem %s", p.Type)
	}
	close(release)
	if s := <-done; s != 200 {
		t.Fatalf("first request: %d", s)
	}
	// The slot is free again.
	go func() { <-entered }()
	res, err = http.Get(srv.URL + PathPrefix + "S1/vapix/third")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("third request: %v, %v", res, err)
	}
	res.Body.Close()
}

// TestTargetChange: when the inventory moves a device (new address or password), the
// proxy follows it with a new digest transport.
func TestTargetChange(t *testing.T) {
	fleet, inv := startCameras(t, 2)
	a, b := fleet.Cameras()[0], fleet.Cameras()[1]
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)
	c := viaProxy(t, srv, a.Info().Serial)
	info, err := c.DeviceInfo(ctx)
	if err != nil || info.SerialNumber != a.Info().Serial {
		t.Fatalf("%+v, %v", info, err)
	}
	// Camera a "moved" to b's address (same serial in the inventory).
	inv.set(a.Info().Serial, Target{Addr: hostOf(t, b.Info().HTTP), User: agentUser, Password: agentPassword})
	info, err = c.DeviceInfo(ctx)
	if err != nil || info.SerialNumber != b.Info().Serial {
		t.Fatalf("after the move: %+v, %v", info, err)
	}
	// A wrong password is the device refusing the agent: 502, never a 401.
	inv.set(a.Info().Serial, Target{Addr: hostOf(t, a.Info().HTTP), User: agentUser, Password: "not-it"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+PathPrefix+a.Info().Serial+"/vapix/axis-cgi/usergroup.cgi", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if p := readProblem(t, res); p.Type != DeviceAuthFailed.URI {
		t.Fatalf("wrong password: %s", p.Type)
	}
}
