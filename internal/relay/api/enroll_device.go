package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// An on-device agent enrolls by proving the owner authentication key its camera reports
// (see package oak): it asks for a challenge for its serial, then sends a proof over that
// nonce and its certificate request's public key.

const (
	challengeTTL     = time.Minute
	maxChallenges    = 10000 // outstanding at once; beyond, the oldest make room
	challengeNonceSz = 32
)

type challenge struct {
	serial  string
	expires time.Time
}

// challenges are the nonces handed out and not used yet. In memory: a relay restart
// only makes agents ask again.
type challenges struct {
	mu sync.Mutex
	m  map[string]challenge
}

func newChallenges() *challenges { return &challenges{m: map[string]challenge{}} }

func (c *challenges) issue(serial string, now time.Time) []byte {
	nonce := make([]byte, challengeNonceSz)
	_, _ = rand.Read(nonce)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxChallenges {
		for k, v := range c.m {
			if now.After(v.expires) || len(c.m) >= maxChallenges {
				delete(c.m, k)
			}
		}
	}
	c.m[string(nonce)] = challenge{serial: serial, expires: now.Add(challengeTTL)}
	return nonce
}

// take consumes a nonce; false when it was not issued for serial or has expired.
func (c *challenges) take(nonce []byte, serial string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[string(nonce)]
	delete(c.m, string(nonce))
	return ok && ch.serial == serial && !now.After(ch.expires)
}

type challengeBody struct {
	Serial string `json:"serial"`
}

func (a *API) deviceChallenge(w http.ResponseWriter, r *http.Request) error {
	var body challengeBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	serial, err := store.NormalizeSerial(body.Serial)
	if err != nil {
		return problem.Invalid("serial", "must be 12 hexadecimal digits")
	}
	nonce := a.challenges.issue(serial, a.store.Now())
	return writeJSON(w, http.StatusCreated, map[string]any{
		"nonce": base64.StdEncoding.EncodeToString(nonce), "expiresIn": int(challengeTTL.Seconds()),
	})
}

type enrollDeviceBody struct {
	Serial string `json:"serial"`
	Nonce  string `json:"nonce"` // base64, from /api/v1/agent/challenge
	CSR    string `json:"csr"`   // PEM
	Proof  string `json:"proof"` // base64 oak.Proof
}

func (a *API) enrollDevice(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.CA == nil {
		return problem.New(problem.Unavailable, "this relay has no CA to sign agent certificates")
	}
	var body enrollDeviceBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	serial, err := store.NormalizeSerial(body.Serial)
	if err != nil {
		return problem.Invalid("serial", "must be 12 hexadecimal digits")
	}
	nonce, err1 := base64.StdEncoding.DecodeString(body.Nonce)
	proof, err2 := base64.StdEncoding.DecodeString(body.Proof)
	if err1 != nil || err2 != nil || len(nonce) != challengeNonceSz {
		return problem.Invalid("nonce", "nonce and proof must be base64, the nonce from POST /api/v1/agent/challenge")
	}
	csr, err := pki.ParseCSR([]byte(body.CSR))
	if err != nil {
		return problem.Invalid("csr", "must be a PEM certificate request signed with an ECDSA P-256 or Ed25519 key")
	}
	if !a.challenges.take(nonce, serial, a.store.Now()) {
		return problem.New(problem.ChallengeUnknown, "ask POST /api/v1/agent/challenge for a fresh nonce for this serial; each works once, for a minute")
	}
	binding := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	end, err := a.proofs.start(w, r, "serial:"+serial)
	if err != nil {
		return err
	}
	d, err := a.store.VerifyDeviceProof(r.Context(), serial, nonce, binding[:], proof)
	end(errors.Is(err, store.ErrProof))
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(problem.NotFound, "no organization has claimed this device; claim it with its serial and owner authentication key first")
	}
	if errors.Is(err, store.ErrProof) {
		a.failedDeviceProof(r, serial)
		return err
	}
	if err != nil {
		return err
	}
	if _, err := a.store.MarkDeviceEnrolled(r.Context(), d.Org, serial); err != nil {
		return err
	}
	id := pki.AgentIdentity{AgentID: store.DeviceAgentID(serial), Org: d.Org}
	cert, err := a.cfg.CA.IssueClientCert([]byte(body.CSR), id, 0, a.store.Now())
	if err != nil {
		return err
	}
	a.log.Info("device agent enrolled", "org", d.Org, "serial", serial)
	return writeJSON(w, http.StatusCreated, EnrollResult{
		AgentID: id.AgentID, Org: id.Org, Certificate: string(cert),
		CA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cfg.CA.Cert.Raw})),
	})
}
