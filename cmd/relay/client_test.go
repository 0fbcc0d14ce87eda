package main

import (
	"strings"
	"testing"
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
