package main

import (
	"strings"
	"testing"
	"time"

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
