package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// run executes the root command to completion.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb testtool.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	err = root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

// relayProcess is `relay serve` running in-process.
type relayProcess struct {
	url, ca        string
	stdout, stderr *testtool.Buffer
	stop           func() error
}

var readyLine = regexp.MustCompile(`relay ready: (\S+) ca=(\S+)`)

// serve starts `relay serve` with args and waits for its ready line.
func serve(t *testing.T, args ...string) *relayProcess {
	t.Helper()
	p := &relayProcess{stdout: &testtool.Buffer{}, stderr: &testtool.Buffer{}}
	root := newRootCommand()
	root.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var once sync.Once
	var runErr error
	p.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("relay serve: %v", err)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := readyLine.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url, p.ca = m[1], m[2]
			return p
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("relay serve ended: %v\nstderr: %s", err, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay serve not ready after 15s; stderr: %s", p.stderr.String())
		}
	}
}

func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in ca.pem")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

var printedPassword = regexp.MustCompile(`admin login (\S+) password (\S+) \(shown only once`)

func TestServeFirstStartAndRestart(t *testing.T) {
	t.Setenv("RELAY_ADMIN_PASSWORD", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "data")
	p := serve(t, "--data", dir, "--admin-email", "owner@example.com")
	if p.ca != filepath.Join(dir, "ca.pem") {
		t.Errorf("ca %s, want in %s", p.ca, dir)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v %v", fi, err)
	}
	resp, err := trusting(t, p.ca).Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	matches := printedPassword.FindAllStringSubmatch(p.stderr.String(), -1)
	if len(matches) != 1 || matches[0][1] != "owner@example.com" {
		t.Fatalf("printed password lines: %q\nstderr: %s", matches, p.stderr.String())
	}
	password := matches[0][2]
	if strings.Count(p.stderr.String(), password) != 1 {
		t.Error("the generated password appears more than once (in a log line?)")
	}
	// The printed login works, through the CLI.
	t.Setenv("RELAY_PASSWORD", password)
	if out, _, err := run(t, "login", "--relay", p.url, "--ca", p.ca, "--email", "owner@example.com"); err != nil || !strings.Contains(out, "logged in") {
		t.Fatalf("login: %v %s", err, out)
	}
	out, _, err := run(t, "orgs", "list")
	if err != nil || !strings.Contains(out, "default") || !strings.Contains(out, "admin") {
		t.Fatalf("orgs list: %v\n%s", err, out)
	}
	out, _, err = run(t, "devices", "list", "--org", "default", "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("devices list: %v %q", err, out)
	}
	// While it runs, the admin commands refuse clearly.
	_, _, err = run(t, "admin", "reset-password", "--data", dir, "--email", "owner@example.com")
	if err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("admin while running: %v", err)
	}
	ca1, _ := os.ReadFile(p.ca)
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// Second start: same CA, no new password.
	p2 := serve(t, "--data", dir, "--listen", strings.TrimPrefix(p.url, "https://"))
	if printedPassword.MatchString(p2.stderr.String()) {
		t.Error("a password was printed again on the second start")
	}
	ca2, _ := os.ReadFile(p2.ca)
	if !bytes.Equal(ca1, ca2) {
		t.Error("the CA changed across restarts")
	}
	out, _, err = run(t, "orgs", "list", "--json")
	if err != nil || !strings.Contains(out, `"name":"default"`) {
		t.Fatalf("orgs list after restart: %v %s", err, out)
	}
}

func TestServeAdminPasswordFromEnv(t *testing.T) {
	t.Setenv("RELAY_ADMIN_PASSWORD", "from-the-environment")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	p := serve(t, "--data", dir)
	if strings.Contains(p.stderr.String(), "from-the-environment") || printedPassword.MatchString(p.stderr.String()) {
		t.Errorf("password printed or logged: %s", p.stderr.String())
	}
	t.Setenv("RELAY_PASSWORD", "from-the-environment")
	if _, _, err := run(t, "login", "--relay", p.url, "--ca", p.ca, "--email", "admin@localhost"); err != nil {
		t.Fatalf("login with the env password: %v", err)
	}
	t.Setenv("RELAY_PASSWORD", "wrong-password")
	if _, _, err := run(t, "login", "--relay", p.url, "--ca", p.ca, "--email", "admin@localhost"); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("login with a wrong password: %v", err)
	}
}

func TestServeInsecureHTTP(t *testing.T) {
	t.Setenv("RELAY_ADMIN_PASSWORD", "insecure-test-pw")
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.10:0", "[::]:0"} {
		_, _, err := run(t, "serve", "--data", t.TempDir(), "--insecure-http", "--listen", addr)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--insecure-http on %s: %v", addr, err)
		}
	}
	p := serve(t, "--data", t.TempDir(), "--insecure-http")
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") {
		t.Fatalf("url %s", p.url)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz over plain HTTP: %d", resp.StatusCode)
	}
}

func TestServeCheckConfig(t *testing.T) {
	t.Setenv("RELAY_ADMIN_PASSWORD", "")
	dir := filepath.Join(t.TempDir(), "fresh")
	out, _, err := run(t, "serve", "--check-config", "--data", dir)
	if err != nil || !strings.Contains(out, "configuration ok") {
		t.Fatalf("check-config: %v %s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("check-config created the data directory")
	}
	cases := map[string][]string{
		"no data":           {"serve", "--check-config"},
		"half a TLS pair":   {"serve", "--check-config", "--data", dir, "--tls-cert", "x.pem"},
		"bad listen":        {"serve", "--check-config", "--data", dir, "--listen", "nope"},
		"bad e-mail":        {"serve", "--check-config", "--data", dir, "--admin-email", "root"},
		"look-alike e-mail": {"serve", "--check-config", "--data", dir, "--admin-email", "admin@localhost\u200b"},
		"bad log level":     {"serve", "--check-config", "--data", dir, "--log-level", "loud"},
	}
	for name, args := range cases {
		if _, _, err := run(t, args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Environment and config file feed the same flags.
	t.Setenv("RELAY_LISTEN", "nope")
	if _, _, err := run(t, "serve", "--check-config", "--data", dir); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("RELAY_LISTEN not applied: %v", err)
	}
	t.Setenv("RELAY_LISTEN", "")
	os.Unsetenv("RELAY_LISTEN")
	cfg := filepath.Join(t.TempDir(), "relay.yaml")
	if err := os.WriteFile(cfg, []byte("data: "+dir+"\nadmin-email: not-an-address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "serve", "--check-config", "--config", cfg); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Errorf("config file not applied: %v", err)
	}
	t.Setenv("RELAY_ADMIN_PASSWORD", "short")
	if _, _, err := run(t, "serve", "--check-config", "--data", dir); err == nil || !strings.Contains(err.Error(), "RELAY_ADMIN_PASSWORD") {
		t.Errorf("weak RELAY_ADMIN_PASSWORD: %v", err)
	}
}

func TestAdminCommands(t *testing.T) {
	t.Setenv("RELAY_ADMIN_PASSWORD", "first-admin-pw")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	if _, _, err := run(t, "admin", "create-user", "--data", dir, "--email", "a@example.com"); err == nil || !strings.Contains(err.Error(), "no relay database") {
		t.Errorf("create-user before first start: %v", err)
	}
	p := serve(t, "--data", dir)
	url := p.url
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RELAY_PASSWORD", "operator-password")
	out, _, err := run(t, "admin", "create-user", "--data", dir, "--email", "op@example.com", "--org", "default", "--role", "operator")
	if err != nil || !strings.Contains(out, "as operator") || strings.Contains(out, "operator-password") {
		t.Fatalf("create-user: %v %s", err, out)
	}
	if _, _, err := run(t, "admin", "create-user", "--data", dir, "--email", "op@example.com"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate user: %v", err)
	}
	t.Setenv("RELAY_PASSWORD", "")
	out, _, err = run(t, "admin", "reset-password", "--data", dir, "--email", "op@example.com")
	m := regexp.MustCompile(`password: (\S+) \(shown only once\)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("reset-password: %v %s", err, out)
	}
	p = serve(t, "--data", dir, "--listen", strings.TrimPrefix(url, "https://"))
	t.Setenv("RELAY_PASSWORD", m[1])
	if _, _, err := run(t, "login", "--relay", p.url, "--ca", p.ca, "--email", "op@example.com"); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}
	out, _, err = run(t, "orgs", "list")
	if err != nil || !strings.Contains(out, "operator") {
		t.Errorf("orgs of the new user: %v %s", err, out)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(t, "admin", "check", "--data", dir); err != nil || strings.TrimSpace(out) != "ok" {
		t.Errorf("check: %v %s", err, out)
	}
	if _, _, err := run(t, "admin", "delete-user", "--data", dir, "--email", "admin@localhost"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Errorf("delete the last admin: %v", err)
	}
	if out, _, err := run(t, "admin", "delete-user", "--data", dir, "--email", "op@example.com"); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete-user: %v %s", err, out)
	}
	serve(t, "--data", dir, "--listen", strings.TrimPrefix(url, "https://"))
	if _, _, err := run(t, "orgs", "list"); err == nil || !strings.Contains(err.Error(), "relay login") {
		t.Errorf("saved token of a deleted user: %v", err)
	}
	// --token (or RELAY_TOKEN) overrides the saved login.
	if _, _, err := run(t, "orgs", "list", "--token", "cct_bogus"); err == nil || !strings.Contains(err.Error(), "Authentication required") {
		t.Errorf("bogus token: %v", err)
	}
}
