package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// TestAgentAccess checks the access level the agent link will use: a verified agent
// certificate of an enrolled edge host passes; no certificate, an unverified one, or one
// of a deleted edge host is 401.
func TestAgentAccess(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "relay.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := New(Config{Store: st, Hasher: auth.NewHasher(auth.Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u, _ := st.CreateUser(ctx, "a@example.com", "h")
	org, _ := st.CreateOrg(ctx, "A", u.ID)
	tok, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h, _ := st.CreateEdgeHost(ctx, org.ID, "site", hash, time.Now().Add(time.Hour))

	ca, _, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	certPEM, err := ca.IssueClientCert(csr, pki.AgentIdentity{AgentID: h.ID, Org: org.ID}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, _ := x509.ParseCertificate(block.Bytes)

	rt := Route{Method: "GET", Pattern: "/api/v1/agent/link", Access: Agent}
	try := func(state *tls.ConnectionState) error {
		r := httptest.NewRequest("GET", "/api/v1/agent/link", nil)
		r.TLS = state
		r2, err := a.authorize(r, rt)
		if err == nil {
			if p := PrincipalFrom(r2.Context()); p == nil || p.AgentID != h.ID || p.Org != org.ID {
				t.Errorf("principal %+v", p)
			}
		}
		return err
	}
	verified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert, ca.Cert}}}
	isUnauthorized := func(err error) bool { return err != nil && err.(*problem.Problem).Status == 401 }
	if err := try(verified); !isUnauthorized(err) {
		t.Errorf("not yet enrolled: %v", err)
	}
	if _, _, err := st.ConsumeEnrollmentToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := try(verified); err != nil {
		t.Errorf("enrolled agent: %v", err)
	}
	if err := try(nil); !isUnauthorized(err) {
		t.Errorf("no TLS: %v", err)
	}
	if err := try(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}); !isUnauthorized(err) {
		t.Errorf("unverified certificate: %v", err)
	}
	if err := st.DeleteEdgeHost(ctx, org.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	if err := try(verified); !isUnauthorized(err) {
		t.Errorf("deleted edge host: %v", err)
	}
}
