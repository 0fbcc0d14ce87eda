package api

import (
	"encoding/pem"
	"net/http"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
)

// enrollBody is an edge host's enrollment: the one-time token an admin created, and a
// certificate request for a key pair made on the edge host (the private key never leaves
// it).
type enrollBody struct {
	Token string `json:"token"`
	CSR   string `json:"csr"` // PEM CERTIFICATE REQUEST, ECDSA P-256 or Ed25519
}

// EnrollResult is what an enrolled agent keeps: its identity, its client certificate for
// the agent link, and the relay's CA.
type EnrollResult struct {
	AgentID     string `json:"agentId"`
	Org         string `json:"org"`
	Certificate string `json:"certificate"` // PEM
	CA          string `json:"ca"`          // PEM
}

func (a *API) enrollEdgeHost(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.CA == nil {
		return problem.New(problem.Unavailable, "this relay has no CA to sign agent certificates")
	}
	var body enrollBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.Token == "" {
		return problem.Invalid("token", "required: the enrollment token from POST /api/v1/orgs/{org}/edgehosts")
	}
	if _, err := pki.ParseCSR([]byte(body.CSR)); err != nil {
		return problem.Invalid("csr", "must be a PEM certificate request signed with an ECDSA P-256 or Ed25519 key")
	}
	// The token is consumed last: a refused request leaves it usable.
	org, id, err := a.store.ConsumeEnrollmentToken(r.Context(), body.Token)
	if err != nil {
		return err
	}
	cert, err := a.cfg.CA.IssueClientCert([]byte(body.CSR), pki.AgentIdentity{AgentID: id, Org: org}, 0, a.store.Now())
	if err != nil {
		return err
	}
	a.log.Info("edge host enrolled", "org", org, "agent", id)
	return writeJSON(w, http.StatusCreated, EnrollResult{
		AgentID: id, Org: org, Certificate: string(cert),
		CA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cfg.CA.Cert.Raw})),
	})
}

// agentLink hands an enrolled agent's WebSocket upgrade to the link (pkg/edgelink).
func (a *API) agentLink(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.AgentLink == nil {
		return problem.New(problem.Unavailable, "this relay does not accept agent links")
	}
	a.cfg.AgentLink.ServeHTTP(w, r)
	return nil
}
