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
	"crypto/tls"
	"crypto/x509"
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
	body, _ := json.Marshal(map[string]string{
		"token": token,
		"csr":   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
	})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, relayURL+"/api/v1/agent/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("identity: enroll at %s: %w", relayURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil && p.Title != "" {
			return nil, fmt.Errorf("identity: enroll refused (%d %s): %s", resp.StatusCode, p.Title, p.Detail)
		}
		return nil, fmt.Errorf("identity: enroll refused: HTTP %d", resp.StatusCode)
	}
	var res struct {
		AgentID     string `json:"agentId"`
		Org         string `json:"org"`
		Certificate string `json:"certificate"`
		CA          string `json:"ca"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.AgentID == "" || res.Certificate == "" {
		return nil, fmt.Errorf("identity: enroll: unreadable answer from the relay")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	id := &Identity{
		AgentID: res.AgentID, Org: res.Org, Relay: relayURL, EnrolledAt: time.Now().UTC(),
		CertPEM: []byte(res.Certificate), CAPEM: caPEM,
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
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
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

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
