package egress

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// The agent's own account on each camera, made with pwdgrp.cgi as onboarding does; the
// camera's admin account (camsimtest.User) is never given to the proxy.
const (
	agentUser     = "camcloud"
	agentPassword = "AgentSecret7f3a9c"
)

// inventory is a Devices whose targets tests may change.
type inventory struct {
	mu sync.Mutex
	m  map[string]Target
}

func (v *inventory) Target(serial string) (Target, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.m[serial]
	return t, ok
}

func (v *inventory) set(serial string, t Target) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]Target{}
	}
	v.m[serial] = t
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func hostOf(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// startCameras starts n simulated cameras, gives each the agent's account, and returns
// the fleet with an inventory of them.
func startCameras(t testing.TB, n int, opts ...func(*camsim.Config)) (*camsim.Fleet, *inventory) {
	t.Helper()
	fleet := camsimtest.Start(t, n, opts...)
	inv := &inventory{}
	for _, cam := range fleet.Cameras() {
		admin := directClient(t, cam, camsimtest.User, camsimtest.Password)
		if err := admin.AddUser(ctxT(t), agentUser, agentPassword, vapix.RoleAdmin, "camcloud agent"); err != nil {
			t.Fatal(err)
		}
		inv.set(cam.Info().Serial, Target{Addr: hostOf(t, cam.Info().HTTP), User: agentUser, Password: agentPassword})
	}
	return fleet, inv
}

// directClient talks to a camera without the proxy.
func directClient(t testing.TB, cam *camsim.Camera, user, pass string) *vapix.Client {
	t.Helper()
	c, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: user, Password: pass, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// startProxy serves a Proxy on loopback as the agent's link server would.
func startProxy(t testing.TB, devs Devices, mod ...func(*Config)) (*Proxy, *httptest.Server) {
	t.Helper()
	cfg := Config{Devices: devs, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	return p, srv
}

// viaProxy is a VAPIX client for a camera whose base URL is the proxy: it has no
// credentials at all, as callers of EdgeLink have none.
func viaProxy(t testing.TB, srv *httptest.Server, serial string) *vapix.Client {
	t.Helper()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL + PathPrefix + serial + "/vapix", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// rawRequest sends target exactly as given on the request line of a fresh connection to
// srv, with extra header lines, and returns the answer.
func rawRequest(t testing.TB, srv *httptest.Server, method, target string, headers ...string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostOf(t, srv.URL), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	host := "Host: " + hostOf(t, srv.URL)
	for _, h := range headers {
		if strings.HasPrefix(strings.ToLower(h), "host:") {
			host = h
		}
	}
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n" + host + "\r\nConnection: close\r\n")
	for _, h := range headers {
		if !strings.HasPrefix(strings.ToLower(h), "host:") {
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return res
}

// readProblem decodes a problem answer, failing the test when it is not one.
func readProblem(t testing.TB, res *http.Response) problem.Problem {
	t.Helper()
	defer res.Body.Close()
	var p problem.Problem
	if ct := res.Header.Get("Content-Type"); ct != problem.ContentType {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d, Content-Type %q, body %q: want a problem", res.StatusCode, ct, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeDevice is an HTTP server on loopback standing in for a device, which records
// what reached it.
type fakeDevice struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request // headers and URLs only
}

func newFakeDevice(t testing.TB, h http.HandlerFunc) *fakeDevice {
	t.Helper()
	f := &fakeDevice{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		f.mu.Unlock()
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeDevice) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func (f *fakeDevice) addr() string { return strings.TrimPrefix(f.URL, "http://") }

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// tcpTap forwards TCP connections on loopback to a device and counts the bytes that went
// towards it, so a test can see when a device is receiving.
type tcpTap struct {
	ln   net.Listener
	sent atomic.Int64
}

func newTCPTap(t testing.TB, to string) *tcpTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &tcpTap{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(countingWriter{out, &tap.sent}, in)
				out.Close()
			}()
			go func() {
				defer wg.Done()
				_, _ = io.Copy(in, out)
				in.Close()
			}()
		}
	}()
	return tap
}

func (tap *tcpTap) addr() string { return tap.ln.Addr().String() }

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
