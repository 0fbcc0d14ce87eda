package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// TestLoginSaysWhenToTryAgain: once the relay holds sign-ins up, `relay login` says how
// long to wait, from the Retry-After header.
func TestLoginSaysWhenToTryAgain(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	login := func(pw string) error {
		t.Setenv("RELAY_PASSWORD", pw)
		_, _, err := run(t, "login", "--relay", r.URL, "--ca", r.CAFile, "--email", relaytest.AdminEmail)
		return err
	}
	for range 5 {
		if err := login("wrong-password"); err == nil || !strings.Contains(err.Error(), "wrong e-mail address or password") {
			t.Fatalf("wrong password: %v", err)
		}
	}
	err := login(relaytest.AdminPassword)
	if err == nil || !strings.Contains(err.Error(), "too many attempts") || !strings.Contains(err.Error(), "try again in 1s") {
		t.Fatalf("held-up login: %v", err)
	}
	r.Clock.Advance(time.Second)
	if err := login(relaytest.AdminPassword); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestLoginWithOTP: an account with two-step verification on needs --otp, and the
// error without it says so.
func TestLoginWithOTP(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var en struct{ Secret string }
	r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil).JSON(t, &en)
	code := func() string {
		c, err := totp.GenerateCode(en.Secret, r.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": code()}); res.Status != 200 {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	t.Setenv("RELAY_PASSWORD", relaytest.AdminPassword)
	_, _, err := run(t, "login", "--relay", r.URL, "--ca", r.CAFile, "--email", relaytest.AdminEmail)
	if err == nil || !strings.Contains(err.Error(), "otp") {
		t.Fatalf("login without --otp: %v", err)
	}
	r.Clock.Advance(30 * time.Second) // the confirming code is spent
	if _, _, err := run(t, "login", "--relay", r.URL, "--ca", r.CAFile, "--email", relaytest.AdminEmail, "--otp", code()); err != nil {
		t.Fatalf("login with --otp: %v", err)
	}
	// The saved login is the admin, with two-step verification on.
	out, _, err := run(t, "whoami")
	if err != nil || !strings.Contains(out, relaytest.AdminEmail) || !regexp.MustCompile(`two-step verification\s+on`).MatchString(out) ||
		!regexp.MustCompile(`default \(org_\w+\)\s+admin`).MatchString(out) {
		t.Fatalf("whoami: %v\n%s", err, out)
	}
	out, _, err = run(t, "whoami", "--json")
	var me struct {
		Kind      string
		Email     string
		TwoFactor bool
	}
	if err != nil || json.Unmarshal([]byte(out), &me) != nil || me.Kind != "user" || me.Email != relaytest.AdminEmail || !me.TwoFactor {
		t.Fatalf("whoami --json: %v\n%s", err, out)
	}
}
