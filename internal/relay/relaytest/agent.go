package relaytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// AgentCert is a client certificate the relay's CA issues to agentID of org, as at
// enrollment, with its key.
func (r *Relay) AgentCert(t testing.TB, org, agentID string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := r.Server.CA().IssueClientCert(csr, pki.AgentIdentity{AgentID: agentID, Org: org}, 0, r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Agent links an agent to the relay as agentID of org (an enrolled edge host, or
// store.DeviceAgentID of an enrolled device) and returns it once connected; handler
// serves what the relay asks of it (nil: 404). Its Client reaches the relay's side of the
// link at http://relay/... The link ends with the test.
func (r *Relay) Agent(t testing.TB, org, agentID string, handler http.Handler) *edgelink.Agent {
	t.Helper()
	cert := r.AgentCert(t, org, agentID)
	pool := x509.NewCertPool()
	pool.AddCert(r.Server.CA().Cert)
	a, err := edgelink.NewAgent(edgelink.AgentConfig{
		RelayURL:  "wss://" + strings.TrimPrefix(r.URL, "https://") + "/api/v1/agent/link",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
		Handler:   handler,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := a.WaitConnected(wctx); err != nil {
		t.Fatalf("agent %s: link not up: %v", agentID, err)
	}
	return a
}
