// Package identity is an agent's enrolled identity: the key pair it made itself, the
// client certificate the relay signed for it, the relay's CA, and where the relay is. It
// enrolls an edge host with a one-time token and keeps the result in the agent's data
// directory (the private key readable by the agent's user only).
package identity

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
	"github.com/opencamcloud/camcloud/internal/oak"
)

// Files in the data directory.
const (
	KeyFile    = "agent-key.pem" // 0600
	CertFile   = "agent.pem"
	CAFile     = "ca.pem"
	ConfigFile = "agent.json"
)

// Identity is an enrolled agent.
type Identity struct {
	AgentID string `json:"agentId"`
	Org     string `json:"org"`
	Relay   string `json:"relay"` // https://relay.example:8443
	// EnrolledAt is when the relay signed the certificate.
	EnrolledAt time.Time `json:"enrolledAt"`

	CertPEM []byte `json:"-"`
	KeyPEM  []byte `json:"-"`
	CAPEM   []byte `json:"-"`
}

// ErrNotEnrolled: the data directory holds no identity yet.
var ErrNotEnrolled = errors.New("identity: not enrolled (run the enroll command first)")

// EnrollEdgeHost makes a key pair, sends its certificate request with the one-time token
// to the relay (trusting only caPEM), and returns the enrolled identity.
func EnrollEdgeHost(ctx context.Context, relayURL string, caPEM []byte, token string) (*Identity, error) {
	e, err := newEnrollment(relayURL, caPEM)
	if err != nil {
		return nil, err
	}
	return e.finish(ctx, "/api/v1/agent/enroll", map[string]string{"token": token, "csr": e.csrPEM})
}

// EnrollDevice enrolls the agent on a camera that a user claimed for an organization: it
// proves the camera's owner authentication key (read from the camera over VAPIX) without
// sending it, over a fresh challenge and bound to the new key pair.
func EnrollDevice(ctx context.Context, relayURL string, caPEM []byte, serial, ownerKey string) (*Identity, error) {
	e, err := newEnrollment(relayURL, caPEM)
	if err != nil {
		return nil, err
	}
	derived, err := oak.DeriveKey(serial, ownerKey)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	var ch struct {
		Nonce string `json:"nonce"`
	}
	if err := e.post(ctx, "/api/v1/agent/challenge", map[string]string{"serial": serial}, &ch); err != nil {
		return nil, err
	}
	nonce, err := base64.StdEncoding.DecodeString(ch.Nonce)
	if err != nil {
		return nil, fmt.Errorf("identity: unreadable challenge from the relay")
	}
	binding := sha256.Sum256(e.spki)
	proof := oak.Proof(derived, serial, nonce, binding[:])
	return e.finish(ctx, "/api/v1/agent/enroll-device", map[string]string{
		"serial": serial, "nonce": ch.Nonce, "csr": e.csrPEM, "proof": base64.StdEncoding.EncodeToString(proof),
	})
}

// enrollment is one attempt: the key pair made for it and the client trusting the relay.
type enrollment struct {
	relay  string
	caPEM  []byte
	key    *ecdsa.PrivateKey
	csrPEM string
	spki   []byte // DER SubjectPublicKeyInfo of the key, which device proofs bind to
	hc     *http.Client
}

func newEnrollment(relayURL string, caPEM []byte) (*enrollment, error) {
	relayURL = strings.TrimSuffix(relayURL, "/")
	if !strings.HasPrefix(relayURL, "https://") && !strings.HasPrefix(relayURL, "http://") {
		return nil, fmt.Errorf("identity: relay URL %q: want https://host:port", relayURL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("identity: the CA file holds no PEM certificate")
	}
	// ECDSA P-256: cheap handshakes when thousands of agents reconnect at once.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: make key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("identity: certificate request: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &enrollment{
		relay: relayURL, caPEM: caPEM, key: key, spki: spki,
		csrPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
	}, nil
}

// post sends a JSON request and decodes a 201 answer into out; a problem answer becomes
// an error carrying its title and detail.
func (e *enrollment) post(ctx context.Context, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.relay+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		return fmt.Errorf("identity: enroll at %s: %w", e.relay, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(rb, &p) == nil && p.Title != "" {
			return fmt.Errorf("identity: enroll refused (%d %s): %s", resp.StatusCode, p.Title, p.Detail)
		}
		return fmt.Errorf("identity: enroll refused: HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("identity: enroll: unreadable answer from the relay")
	}
	return nil
}

func (e *enrollment) finish(ctx context.Context, path string, body any) (*Identity, error) {
	var res struct {
		AgentID     string `json:"agentId"`
		Org         string `json:"org"`
		Certificate string `json:"certificate"`
	}
	if err := e.post(ctx, path, body, &res); err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(e.key)
	if err != nil {
		return nil, err
	}
	id := &Identity{
		AgentID: res.AgentID, Org: res.Org, Relay: e.relay, EnrolledAt: time.Now().UTC(),
		CertPEM: []byte(res.Certificate), CAPEM: e.caPEM,
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if _, err := id.TLSCertificate(); err != nil {
		return nil, fmt.Errorf("identity: the relay's certificate does not fit our key: %w", err)
	}
	return id, nil
}

// TLSCertificate is the client certificate for the agent link.
func (id *Identity) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(id.CertPEM, id.KeyPEM)
}

// NotAfter is when the client certificate expires.
func (id *Identity) NotAfter() (time.Time, error) {
	c, err := id.TLSCertificate()
	if err != nil {
		return time.Time{}, err
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return time.Time{}, err
	}
	return leaf.NotAfter, nil
}

// ReadCA is what an enroll command does before it asks the relay: it refuses a data
// directory that already holds an enrolled identity, unless force, and reads the
// relay's CA certificate from caFile.
func ReadCA(dataDir, caFile string, force bool) ([]byte, error) {
	if _, err := Load(dataDir); err == nil && !force {
		return nil, fmt.Errorf("%s already holds an enrolled identity; use --force to replace it", dataDir)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	return caPEM, nil
}

// Save writes the identity into dir (created 0700), the key 0600, each file atomically.
func (id *Identity) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	cfg, _ := json.MarshalIndent(id, "", "  ")
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{KeyFile, id.KeyPEM, 0o600}, {CertFile, id.CertPEM, 0o644}, {CAFile, id.CAPEM, 0o644}, {ConfigFile, cfg, 0o644}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	}
	return nil
}

// Load reads the identity saved in dir; ErrNotEnrolled when there is none.
func Load(dir string) (*Identity, error) {
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	var id Identity
	if err := json.Unmarshal(cfg, &id); err != nil {
		return nil, fmt.Errorf("identity: %s: %w", ConfigFile, err)
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{KeyFile, &id.KeyPEM}, {CertFile, &id.CertPEM}, {CAFile, &id.CAPEM}} {
		if *f.dst, err = os.ReadFile(filepath.Join(dir, f.name)); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
	}
	if _, err := id.TLSCertificate(); err != nil {
		return nil, fmt.Errorf("identity: %s and %s do not match: %w", CertFile, KeyFile, err)
	}
	return &id, nil
}

// Describe writes the identity for a person: who, where, and until when.
func (id *Identity) Describe(w io.Writer) error {
	notAfter, err := id.NotAfter()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "agent:        %s\norganization: %s\nrelay:        %s\nenrolled:     %s\ncertificate:  valid until %s\n",
		id.AgentID, id.Org, id.Relay, id.EnrolledAt.Format("2006-01-02 15:04:05 MST"), notAfter.UTC().Format("2006-01-02 15:04:05 MST"))
	return err
}
