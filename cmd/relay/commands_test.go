package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// TestCommandsAPersonReachesFor drives the organization commands against a relay, with
// --org given by name: edge hosts, members, profiles, tasks, releases and devices.
func TestCommandsAPersonReachesFor(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	conn := []string{"--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", "default"}
	cli := func(args ...string) string {
		t.Helper()
		out, _, err := run(t, append(args, conn...)...)
		if err != nil {
			t.Fatalf("relay %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	out := cli("edgehosts", "create", "--name", "site-1")
	id := regexp.MustCompile(`edge host: (eh_\S+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("create: %s", out)
	}
	if out := cli("edgehosts", "list"); !strings.Contains(out, id[1]) || !strings.Contains(out, "site-1") {
		t.Errorf("edgehosts list lacks the new edge host:\n%s", out)
	}

	out = cli("members", "invite", "--role", "operator", "--email", "op@example.com")
	if !regexp.MustCompile(`code: \S+ \(one use`).MatchString(out) {
		t.Errorf("members invite prints no code:\n%s", out)
	}
	if out := cli("members", "list"); !strings.Contains(out, relaytest.AdminEmail) || !strings.Contains(out, "admin") {
		t.Errorf("members list lacks the admin:\n%s", out)
	}
	r.CreateUser(t, "viewer@example.com", "a long enough password")
	// The last admin cannot be demoted: the relay's problem is shown once, title and detail.
	_, _, err := run(t, append([]string{"members", "set-role", relaytest.AdminEmail, "viewer"}, conn...)...)
	if err == nil || strings.Contains(err.Error(), "relay:") {
		t.Errorf("demoting the last admin: err %v, want the problem without a prefix of its own", err)
	}

	profile := filepath.Join(t.TempDir(), "lobby.json")
	if err := os.WriteFile(profile, []byte(`{"overlay":"Lobby"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("profiles", "set", "lobby", "--file", profile)
	if err := os.WriteFile(profile, []byte(`{"overlay":"Hall"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("profiles", "set", "lobby", "--file", profile) // replaces
	if out := cli("profiles", "show", "lobby"); !strings.Contains(out, `"overlay": "Hall"`) {
		t.Errorf("profiles show after set:\n%s", out)
	}
	if out := cli("profiles", "list"); !strings.Contains(out, "lobby") {
		t.Errorf("profiles list:\n%s", out)
	}
	cli("profiles", "delete", "lobby")
	_, _, err = run(t, append([]string{"profiles", "show", "lobby"}, conn...)...)
	if err == nil {
		t.Error("a deleted profile is still shown")
	}

	if out := cli("tasks", "list"); !strings.HasPrefix(out, "TASK") {
		t.Errorf("tasks list:\n%s", out)
	}
	if out := cli("tasks", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("tasks list --json with no tasks: %q", out)
	}
	_, _, err = run(t, append([]string{"devices", "set-mode", "ACCC8E000001", "managed"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), ": ") {
		t.Errorf("set-mode of an unknown device: %v", err)
	}

	file := filepath.Join(t.TempDir(), "app.eap")
	if err := os.WriteFile(file, []byte("an application package"), 0o600); err != nil {
		t.Fatal(err)
	}
	relayConn := []string{"--relay", r.URL, "--ca", r.CAFile, "--token", tok}
	if out, _, err := run(t, append([]string{"releases", "upload", file, "--kind", "acap", "--name", "lobbyapp", "--version", "1.0.0"}, relayConn...)...); err != nil {
		t.Fatalf("releases upload: %v\n%s", err, out)
	}
	if out, _, err := run(t, append([]string{"releases", "list"}, relayConn...)...); err != nil || !strings.Contains(out, "lobbyapp") {
		t.Errorf("releases list: %v\n%s", err, out)
	}
}

// A command that does not exist fails and names the ones that do, rather than printing
// help and succeeding.
func TestUnknownSubcommandFails(t *testing.T) {
	_, _, err := run(t, "edgehosts", "lsit", "--org", "default")
	if err == nil || !strings.Contains(err.Error(), `"lsit"`) || !strings.Contains(err.Error(), "list") {
		t.Errorf("relay edgehosts lsit: %v", err)
	}
	if out, _, err := run(t, "profiles"); err != nil || !strings.Contains(out, "Available Commands") {
		t.Errorf("relay profiles alone: %v\n%s", err, out)
	}
	if _, _, err := run(t, "nosuch"); err == nil {
		t.Error("relay nosuch succeeded")
	}
}
