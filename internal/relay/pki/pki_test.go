package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T) (*CA, string) {
	t.Helper()
	dir := t.TempDir()
	ca, created, err := LoadOrCreateCA(dir, now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateCA: %v created=%v", err, created)
	}
	return ca, dir
}

func TestCAPersistsWithPrivateKey(t *testing.T) {
	ca, dir := newCA(t)
	fi, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := LoadOrCreateCA(dir, now)
	if err != nil || created {
		t.Fatalf("reload: %v created=%v", err, created)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("reload made a new CA")
	}
	if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.Cert.PublicKey)
	}
	if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateCA(dir, now); err == nil {
		t.Error("a CA certificate without its key was accepted or replaced")
	}
}

func TestServerCert(t *testing.T) {
	ca, dir := newCA(t)
	c, err := ca.ServerCert(dir, []string{"relay.example", "0.0.0.0"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"relay.example", "localhost", "127.0.0.1", "::1"} {
		if err := c.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("host %s: %v", h, err)
		}
	}
	same, _ := ca.ServerCert(dir, []string{"relay.example"}, now)
	if !same.Leaf.Equal(c.Leaf) {
		t.Error("certificate reissued although it fits")
	}
	other, _ := ca.ServerCert(dir, []string{"other.example"}, now)
	if other.Leaf.Equal(c.Leaf) || other.Leaf.VerifyHostname("other.example") != nil {
		t.Error("certificate not reissued for a new host")
	}
	late, _ := ca.ServerCert(dir, []string{"other.example"}, now.Add(360*24*time.Hour))
	if late.Leaf.Equal(other.Leaf) {
		t.Error("certificate near its end not renewed")
	}
}

func csrFor(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestClientCert(t *testing.T) {
	ca, _ := newCA(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	id := AgentIdentity{AgentID: "eh_abc123", Org: "org_xyz"}
	for name, key := range map[string]crypto.Signer{"ecdsa": ecKey, "ed25519": edKey} {
		t.Run(name, func(t *testing.T) {
			certPEM, err := ca.IssueClientCert(csrFor(t, key), id, 0, now)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := parseCertPEM(certPEM)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ca.Verify(cert, now)
			if err != nil || got != id {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
			if d := cert.NotAfter.Sub(now); d > DefaultClientValidity {
				t.Errorf("validity %v", d)
			}
			if _, err := ca.Verify(cert, now.Add(DefaultClientValidity+time.Hour)); !errors.Is(err, ErrNotAgent) {
				t.Errorf("expired certificate: %v", err)
			}
		})
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := ca.IssueClientCert(csrFor(t, rsaKey), id, 0, now); !errors.Is(err, ErrKeyType) {
		t.Errorf("RSA request: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := ca.IssueClientCert(csrFor(t, p384), id, 0, now); !errors.Is(err, ErrKeyType) {
		t.Errorf("P-384 request: %v", err)
	}
	if _, err := ca.IssueClientCert([]byte("garbage"), id, 0, now); !errors.Is(err, ErrBadCSR) {
		t.Errorf("garbage request: %v", err)
	}
	if _, err := ca.IssueClientCert(csrFor(t, ecKey), AgentIdentity{AgentID: "../x", Org: "o"}, 0, now); err == nil {
		t.Error("bad agent ID accepted")
	}
	other, _ := newCA(t)
	certPEM, _ := other.IssueClientCert(csrFor(t, ecKey), id, 0, now)
	cert, _ := parseCertPEM(certPEM)
	if _, err := ca.Verify(cert, now); !errors.Is(err, ErrNotAgent) {
		t.Errorf("certificate of another CA: %v", err)
	}
}

// TestMutualTLS runs a real handshake on loopback: server certificate trusted through
// ca.pem, agent certificate checked against the CA pool.
func TestMutualTLS(t *testing.T) {
	ca, dir := newCA(t)
	srvCert, err := ca.ServerCert(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	certPEM, err := ca.IssueClientCert(csrFor(t, key), AgentIdentity{AgentID: "eh_1", Org: "org_1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	clientCert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan AgentIdentity, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- AgentIdentity{}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			got <- AgentIdentity{}
			return
		}
		id, _ := IdentityOf(tc.ConnectionState().PeerCertificates[0])
		_, _ = io.WriteString(c, "ok")
		got <- id
	}()
	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(dir, CAFile))
	roots.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.ReadAll(conn)
	if id := <-got; id.AgentID != "eh_1" || id.Org != "org_1" {
		t.Errorf("server saw %+v", id)
	}
}
