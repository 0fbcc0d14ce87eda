package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

func run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// newEdgeHost creates an edge host in the relay's default organization as its admin and
// returns the one-time enrollment token.
// enrolled enrolls a new edge host of r's default organization into a new data
// directory, and returns the directory and the identity it holds.
func enrolled(t testing.TB, r *relaytest.Relay) (string, *identity.Identity) {
	t.Helper()
	data := t.TempDir()
	if out, err := run(t, "enroll", "--relay", r.URL, "--token", newEdgeHost(t, r), "--ca", r.CAFile, "--data", data); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	id, err := identity.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, id
}

func newEdgeHost(t testing.TB, r *relaytest.Relay) string {
	t.Helper()
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	res := r.Do(t, http.MethodGet, "/api/v1/orgs", tok, nil)
	var orgs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	res.JSON(t, &orgs)
	if len(orgs.Items) == 0 {
		t.Fatal("the relay has no organization")
	}
	res = r.Do(t, http.MethodPost, "/api/v1/orgs/"+orgs.Items[0].ID+"/edgehosts", tok, map[string]any{"name": "site-1"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create edge host: %d %s", res.Status, res.Body)
	}
	var eh struct {
		EnrollmentToken string `json:"enrollmentToken"`
	}
	res.JSON(t, &eh)
	return eh.EnrollmentToken
}

func TestEnrollAndStatus(t *testing.T) {
	r := relaytest.Start(t)
	token := newEdgeHost(t, r)
	data := t.TempDir()
	out, err := run(t, "enroll", "--relay", r.URL, "--token", token, "--ca", r.CAFile, "--data", data)
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	id, err := identity.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(data, identity.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	// The certificate is signed by the relay's CA for a client, and names this edge host.
	block, _ := pem.Decode(id.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Server.CA().Verify(cert, r.Clock.Now())
	if err != nil || got.AgentID != id.AgentID || got.Org != id.Org {
		t.Fatalf("certificate identity %+v, %v; want %s/%s", got, err, id.Org, id.AgentID)
	}
	out, err = run(t, "status", "--data", data)
	if err != nil || !strings.Contains(out, id.AgentID) || !strings.Contains(out, r.URL) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	h, err := r.Store.EdgeHost(context.Background(), id.Org, id.AgentID)
	if err != nil || h.EnrolledAt.IsZero() {
		t.Fatalf("relay does not show the edge host enrolled: %+v, %v", h, err)
	}
}

func TestEnrollRefusals(t *testing.T) {
	r := relaytest.Start(t)
	token := newEdgeHost(t, r)
	if _, err := run(t, "enroll", "--relay", r.URL, "--token", token, "--ca", r.CAFile, "--data", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"reused token", token, "already used"},
		{"unknown token", "cce_nosuchtoken", "never issued"},
	} {
		_, err := run(t, "enroll", "--relay", r.URL, "--token", tc.token, "--ca", r.CAFile, "--data", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	expired := newEdgeHost(t, r)
	r.Clock.Advance(25 * time.Hour) // past the default 24 h token lifetime
	if _, err := run(t, "enroll", "--relay", r.URL, "--token", expired, "--ca", r.CAFile, "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	// Another CA than the relay's: the TLS handshake fails, no token is spent.
	other := filepath.Join(t.TempDir(), "other.pem")
	ca, _, err := pki.LoadOrCreateCA(filepath.Dir(other), r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	fresh := newEdgeHost(t, r)
	if _, err := run(t, "enroll", "--relay", r.URL, "--token", fresh, "--ca", other, "--data", t.TempDir()); err == nil {
		t.Error("enrolled while trusting another CA")
	}
	if _, err := run(t, "enroll", "--relay", r.URL, "--token", fresh, "--ca", r.CAFile, "--data", t.TempDir()); err != nil {
		t.Errorf("the token was spent by a refused handshake: %v", err)
	}
	if _, err := run(t, "enroll", "--relay", r.URL); err == nil || !strings.Contains(err.Error(), "--token is required") {
		t.Errorf("missing flags: %v", err)
	}
}
