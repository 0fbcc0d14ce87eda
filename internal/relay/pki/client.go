package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Client certificate validity: short, so a stolen agent key stops working on its own; the
// agent renews over its link well before the end.
const (
	DefaultClientValidity = 30 * 24 * time.Hour
	MaxClientValidity     = 90 * 24 * time.Hour
)

// URI prefixes of the subject alternative names that carry an agent's identity.
const (
	agentURIPrefix = "urn:camcloud:agent:"
	orgURIPrefix   = "urn:camcloud:org:"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// AgentIdentity is who a client certificate speaks for.
type AgentIdentity struct {
	AgentID string // an edge host ID, or the agent ID of an on-device agent
	Org     string // the organization the agent was enrolled into
}

// IssueClientCert signs a client certificate for the public key in a PEM or DER
// certificate request. The request must be self-signed with an ECDSA P-256 or Ed25519 key;
// its subject is ignored: the identity comes only from id. validity 0 means
// DefaultClientValidity; more than MaxClientValidity is capped. It returns the PEM
// certificate.
func (ca *CA) IssueClientCert(csr []byte, id AgentIdentity, validity time.Duration, now time.Time) ([]byte, error) {
	if !idPattern.MatchString(id.AgentID) || !idPattern.MatchString(id.Org) {
		return nil, fmt.Errorf("pki: agent %q org %q: identifiers must match %s", id.AgentID, id.Org, idPattern)
	}
	req, err := ParseCSR(csr)
	if err != nil {
		return nil, err
	}
	if validity <= 0 {
		validity = DefaultClientValidity
	}
	validity = min(validity, MaxClientValidity)
	agentURI, _ := url.Parse(agentURIPrefix + id.AgentID)
	orgURI, _ := url.Parse(orgURIPrefix + id.Org)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: id.AgentID, OrganizationalUnit: []string{id.Org}},
		URIs:         []*url.URL{agentURI, orgURI},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, req.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign client certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// ParseCSR parses a PEM or DER certificate request, checks its self-signature and key type.
func ParseCSR(csr []byte) (*x509.CertificateRequest, error) {
	der := csr
	if block, _ := pem.Decode(csr); block != nil {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM block %q", ErrBadCSR, block.Type)
		}
		der = block.Bytes
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	switch k := req.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, ErrKeyType
		}
	case ed25519.PublicKey:
	default:
		return nil, ErrKeyType
	}
	return req, nil
}

// IdentityOf reads the agent identity from a client certificate. It does not verify the
// certificate: call it on a chain that TLS (or [CA.Verify]) already verified.
func IdentityOf(cert *x509.Certificate) (AgentIdentity, error) {
	var id AgentIdentity
	for _, u := range cert.URIs {
		s := u.String()
		switch {
		case strings.HasPrefix(s, agentURIPrefix):
			id.AgentID = strings.TrimPrefix(s, agentURIPrefix)
		case strings.HasPrefix(s, orgURIPrefix):
			id.Org = strings.TrimPrefix(s, orgURIPrefix)
		}
	}
	if !idPattern.MatchString(id.AgentID) || !idPattern.MatchString(id.Org) {
		return AgentIdentity{}, ErrNotAgent
	}
	return id, nil
}

// Verify checks that cert was issued by this CA for client authentication and is valid
// at now, and returns its identity. The link handler uses it when TLS was configured to
// accept a certificate without verifying it, and tests use it directly.
func (ca *CA) Verify(cert *x509.Certificate, now time.Time) (AgentIdentity, error) {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       ca.Pool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return AgentIdentity{}, fmt.Errorf("%w: %v", ErrNotAgent, err)
	}
	return IdentityOf(cert)
}
