package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// TestEdgeHostsCommands drives `relay edgehosts` against a relay whose edge host has not
// connected: discovered lists nothing yet, onboard says the agent is offline, and the
// admin password is only taken from the environment.
func TestEdgeHostsCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	res := r.Do(t, http.MethodPost, "/api/v1/orgs", tok, map[string]any{"name": "site-org"})
	var org struct{ ID string }
	res.JSON(t, &org)
	out, _, err := run(t, "edgehosts", "create", "--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", "site-org", "--name", "site-1")
	m := regexp.MustCompile(`edge host: (eh_\S+)\nenrollment token: (cce_\S+) `).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	conn := []string{"--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", org.ID, "--edgehost", m[1]}

	out, _, err = run(t, append([]string{"edgehosts", "discovered"}, conn...)...)
	if err != nil || !strings.Contains(out, "SERIAL") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("discovered: %v\n%s", err, out)
	}
	t.Setenv("CAMERA_PASSWORD", "")
	if _, _, err := run(t, append([]string{"edgehosts", "onboard", "--serial", "ACCC8E000001"}, conn...)...); err == nil || !strings.Contains(err.Error(), "CAMERA_PASSWORD") {
		t.Fatalf("onboard without a password: %v", err)
	}
	t.Setenv("CAMERA_PASSWORD", "secret")
	if _, _, err := run(t, append([]string{"edgehosts", "onboard", "--serial", "ACCC8E000001"}, conn...)...); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("onboard through an offline edge host: %v", err)
	}
	out, _, err = run(t, "devices", "list", "--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", org.ID, "--mode", "managed")
	if err != nil || !strings.Contains(out, "MODE") {
		t.Fatalf("devices list --mode: %v\n%s", err, out)
	}
	if _, _, err := run(t, "devices", "list", "--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", org.ID, "--mode", "sideways"); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("devices list with a bad mode: %v", err)
	}
}
