package main

import (
	"strings"
	"testing"
)

func TestHelpAndVersion(t *testing.T) {
	out, _, err := run(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "admin", "login", "orgs", "devices", "version", "RELAY_ADMIN_PASSWORD"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	out, _, err = run(t, "devices", "list", "--help")
	if err != nil || !strings.Contains(out, "RELAY_TOKEN") || !strings.Contains(out, "--ca") {
		t.Errorf("devices list --help: %v\n%s", err, out)
	}
	out, _, err = run(t, "version")
	if err != nil || !strings.HasPrefix(out, "relay ") {
		t.Errorf("version: %v %q", err, out)
	}
}
