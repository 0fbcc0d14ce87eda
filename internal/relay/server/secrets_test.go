package server_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/server"
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runErr starts a relay that is expected not to start, and returns its error (from
// the configuration's validation or from Run).
func runErr(t *testing.T, cfg server.Config) error {
	t.Helper()
	cfg.Listen, cfg.PasswordParams = "127.0.0.1:0", relaytest.FastParams
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	select {
	case <-srv.Ready():
		cancel()
		<-done
		t.Fatal("the relay started")
	case err := <-done:
		if err == nil {
			t.Fatal("the relay stopped without an error")
		}
		return err
	}
	return nil
}

// The TOTP secrets are sealed under the relay's key file: a copy of relay.db alone does
// not hold them, sign-in with a code works after a restart, and a missing, wrong or
// exposed key file stops the relay with what to do.
func TestTwoFactorSecretsSealedAtRest(t *testing.T) {
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	res := r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil)
	var en struct{ Secret string }
	res.JSON(t, &en)
	if res.Status != http.StatusCreated || en.Secret == "" {
		t.Fatalf("start enrolment: %d %s", res.Status, res.Body)
	}
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": totpCode(t, en.Secret, r.Clock.Now())}); res.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	r.Stop(t)

	keyPath, dbPath := filepath.Join(r.DataDir, server.SecretsKeyFile), filepath.Join(r.DataDir, server.DBFile)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	db, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(en.Secret)) {
		t.Fatal("relay.db holds the TOTP secret in clear")
	}

	r.Restart(t)
	r.Clock.Advance(30 * time.Second) // the confirming code's step is spent
	form := url.Values{"grant_type": {"password"}, "username": {relaytest.AdminEmail}, "password": {relaytest.AdminPassword},
		"otp": {totpCode(t, en.Secret, r.Clock.Now())}}
	if res := r.PostForm(t, "/api/v1/auth/token", form); res.Status != http.StatusOK {
		t.Fatalf("sign-in with a code after a restart: %d %s", res.Status, res.Body)
	}
	r.Stop(t)

	cfg := server.Config{DataDir: r.DataDir}
	// Another relay's key.
	other := bytes.Repeat([]byte{7}, len(key))
	if err := os.WriteFile(keyPath, other, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runErr(t, cfg); !strings.Contains(err.Error(), "is not the one") || !strings.Contains(err.Error(), keyPath) {
		t.Fatalf("wrong key: %v", err)
	}
	// No key file: the relay does not make a new one in its place.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if err := runErr(t, cfg); !strings.Contains(err.Error(), "is missing") || !strings.Contains(err.Error(), "restore") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Fatalf("a relay that did not start left a key file: %v", err)
	}
	// The right key, but readable by others.
	if err := os.WriteFile(keyPath, key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := runErr(t, cfg); !strings.Contains(err.Error(), "chmod 600 "+keyPath) {
		t.Fatalf("exposed key: %v", err)
	}
	// The key moved elsewhere and named with --secrets-key.
	moved := filepath.Join(t.TempDir(), "relay-secrets-key")
	if err := os.WriteFile(moved, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	cfg.SecretsKey, cfg.Now, cfg.Listen, cfg.PasswordParams = moved, r.Clock.Now, "127.0.0.1:0", relaytest.FastParams
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	}()
	select {
	case <-srv.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("relay with --secrets-key did not start: %v", err)
	}
	r.Clock.Advance(30 * time.Second)
	form.Set("otp", totpCode(t, en.Secret, r.Clock.Now()))
	resp, err := relaytest.TrustingClient(t, r.CAFile).PostForm("https://"+ln.Addr().String()+"/api/v1/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in with the key given by path: %d", resp.StatusCode)
	}
}
