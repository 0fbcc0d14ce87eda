// Package relaytest starts a real relay for tests: HTTPS on 127.0.0.1 with a port of its
// own, state in t.TempDir(), a clock the test moves, and cheap password hashing. Start
// returns when the relay answers and registers its shutdown with t.Cleanup.
package relaytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// FastParams make argon2id cheap in tests; hashes still carry and check their parameters.
var FastParams = auth.Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// Admin credentials of the relay's first admin.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "first-admin-password"
)

// Clock is a settable clock, safe for concurrent use. It starts at the real time, so
// certificates made with it are valid for real TLS clients.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Relay is a running relay.
type Relay struct {
	URL     string // https://127.0.0.1:PORT
	DataDir string
	CAFile  string
	Client  *http.Client // trusts the relay's CA
	Server  *server.Server
	Store   *store.Store
	Clock   *Clock
	Hasher  *auth.Hasher

	cfg  server.Config
	stop func() // stops the running server and waits for it
}

// Option changes the configuration before start.
type Option func(*server.Config)

// RealClock runs the relay on the real clock instead of the settable one, for tests
// that compare the relay's times with those of other processes (device logs, agents).
func RealClock(cfg *server.Config) { cfg.Now = time.Now }

// LogTo sends the relay's log, at every level, to w (safe for concurrent writes).
func LogTo(w io.Writer) Option {
	return func(cfg *server.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// Start runs a relay until the test ends.
func Start(t testing.TB, opts ...Option) *Relay {
	t.Helper()
	clock := &Clock{t: time.Now()}
	dir := t.TempDir()
	cfg := server.Config{
		DataDir:        dir,
		Listen:         "127.0.0.1:0",
		AdminEmail:     AdminEmail,
		AdminPassword:  AdminPassword,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:            clock.Now,
		PasswordParams: FastParams,
	}
	for _, o := range opts {
		o(&cfg)
	}
	r := &Relay{DataDir: dir, CAFile: filepath.Join(dir, pki.CAFile), Clock: clock, Hasher: auth.NewHasher(FastParams, 0), cfg: cfg}
	r.start(t, "127.0.0.1:0")
	t.Cleanup(func() { r.Stop(t) })
	r.Client = TrustingClient(t, r.CAFile)
	return r
}

// Restart stops the relay and starts it again on the same address and data directory,
// as an operator restarting the process would.
func (r *Relay) Restart(t testing.TB) {
	t.Helper()
	r.Stop(t)
	addr := strings.TrimPrefix(strings.TrimPrefix(r.URL, "https://"), "http://")
	r.start(t, addr)
}

// Stop stops the relay (Start's cleanup does it too); Restart brings it back.
func (r *Relay) Stop(t testing.TB) {
	t.Helper()
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
}

func (r *Relay) start(t testing.TB, addr string) {
	t.Helper()
	srv, err := server.New(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	// The old listener's port may take a moment to be free again.
	testtool.WaitFor(t, 5*time.Second, "the relay's address "+addr+" to be free", func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	}
	select {
	case <-srv.Ready():
	case err := <-done:
		r.stop = nil
		t.Fatalf("relay did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not start within 10s")
	}
	r.URL = "https://" + ln.Addr().String()
	if r.cfg.InsecureHTTP {
		r.URL = "http://" + ln.Addr().String()
	}
	r.Server, r.Store = srv, srv.Store()
}

// TrustingClient is an HTTP client that trusts the CA in caFile.
func TrustingClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it does not decode.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request. body may be nil, a string or []byte (sent as is, as JSON), or any
// other value (marshalled as JSON). token may be empty.
func (r *Relay) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return r.send(t, req)
}

// PostForm sends a form-encoded POST without a token.
func (r *Relay) PostForm(t testing.TB, path string, form url.Values) *Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", r.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.send(t, req)
}

func (r *Relay) send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := r.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Login gets a person's bearer token with the password grant.
func (r *Relay) Login(t testing.TB, email, password string) string {
	t.Helper()
	res := r.PostForm(t, "/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
	return accessToken(t, res)
}

// ClientToken gets an application's bearer token with the client credentials grant.
func (r *Relay) ClientToken(t testing.TB, id, secret string) string {
	t.Helper()
	res := r.PostForm(t, "/api/v1/auth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	return accessToken(t, res)
}

func accessToken(t testing.TB, res *Response) string {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("token: %d %s", res.Status, res.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(t, &tok)
	return tok.AccessToken
}

// CreateUser adds a user directly in the store and returns it.
func (r *Relay) CreateUser(t testing.TB, email, password string) store.User {
	t.Helper()
	hash, err := r.Hasher.Hash(t.Context(), password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := r.Store.CreateUser(t.Context(), email, hash)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
