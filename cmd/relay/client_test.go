package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A saved login that cannot be read (here: a relative XDG_CONFIG_HOME, which Go refuses)
// is named in the error, rather than a bare "run relay login" that would not help.
func TestUnreadableSavedLoginIsExplained(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "relative/config")
	t.Setenv("RELAY_TOKEN", "")
	_, _, err := run(t, "devices", "list", "--org", "default")
	if err == nil || !strings.Contains(err.Error(), "XDG_CONFIG_HOME") {
		t.Fatalf("err = %v, want the reason the saved login cannot be read", err)
	}

	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no login saved yet: the usual advice
	_, _, err = run(t, "devices", "list", "--org", "default")
	if err == nil || !strings.Contains(err.Error(), "relay login") {
		t.Fatalf("err = %v, want the advice to log in", err)
	}
}

// The saved login holds a bearer token: it must end up 0600 even when a file (or its
// directory) was already there with looser modes, e.g. made by an older version, a
// dotfiles checkout or a umask-022 editor.
func TestSavedLoginIsPrivateEvenOverAnOldFile(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := filepath.Join(cfg, "camcloud")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "relay-login.json")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the test's umask
		t.Fatal(err)
	}
	if _, err := saveLogin(savedLogin{Relay: "https://r", Token: "cct_secret", ExpiresAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s holds a bearer token with mode %v, want 0600", path, fi.Mode().Perm())
	}
}
