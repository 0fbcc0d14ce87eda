package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/server"
)

// TestAdminResetTwoFactor: when the relay's key file is lost, the operator turns
// two-step verification off with `relay admin reset-two-factor`, the relay starts
// with a new key, and the users sign in with their password.
func TestAdminResetTwoFactor(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var en struct{ Secret string }
	r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil).JSON(t, &en)
	code, err := totp.GenerateCode(en.Secret, r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": code}); res.Status != 200 {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	r.Stop(t)
	if err := os.Remove(filepath.Join(r.DataDir, server.SecretsKeyFile)); err != nil {
		t.Fatal(err)
	}

	if _, _, err := run(t, "admin", "reset-two-factor", "--data", r.DataDir); err == nil || !strings.Contains(err.Error(), "--email or --all") {
		t.Errorf("without --email or --all: %v", err)
	}
	out, _, err := run(t, "admin", "reset-two-factor", "--data", r.DataDir, "--email", "nobody@example.com")
	if err == nil {
		t.Errorf("an unknown user: %s", out)
	}
	out, _, err = run(t, "admin", "reset-two-factor", "--data", r.DataDir, "--all")
	if err != nil || !strings.Contains(out, "turned off for 1 users") {
		t.Fatalf("reset --all: %v %s", err, out)
	}
	out, _, err = run(t, "admin", "reset-two-factor", "--data", r.DataDir, "--email", relaytest.AdminEmail)
	if err != nil || !strings.Contains(out, "had no two-step verification") {
		t.Fatalf("reset --email after --all: %v %s", err, out)
	}

	r.Restart(t) // with a new key: nothing sealed is left to open
	t.Setenv("RELAY_PASSWORD", relaytest.AdminPassword)
	if _, _, err := run(t, "login", "--relay", r.URL, "--ca", r.CAFile, "--email", relaytest.AdminEmail); err != nil {
		t.Fatalf("login without a code after the reset: %v", err)
	}
}
