package api

import (
	"net/http"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type edgeHostBody struct {
	Name      string `json:"name"`
	ExpiresIn int64  `json:"expiresIn"` // seconds the enrollment token is valid; 0: the default
}

type edgeHostView struct {
	ID string `json:"id"`
	// EnrollmentToken and ExpiresAt are only in the answer that creates the edge host.
	EnrollmentToken string    `json:"enrollmentToken,omitempty"`
	ExpiresAt       time.Time `json:"expiresAt,omitzero"`
	Name            string    `json:"name"`
	CreatedAt       time.Time `json:"createdAt"`
	Enrolled        bool      `json:"enrolled"`
	EnrolledAt      time.Time `json:"enrolledAt,omitzero"`
	Connected       bool      `json:"connected"`
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	// ReportedAt is when the edge host last reported its inventory.
	ReportedAt time.Time `json:"reportedAt,omitzero"`
}

func viewEdgeHost(h store.EdgeHost) edgeHostView {
	return edgeHostView{ID: h.ID, Name: h.Name, CreatedAt: h.CreatedAt, Enrolled: !h.EnrolledAt.IsZero(),
		EnrolledAt: h.EnrolledAt, Connected: h.Connected, LastSeen: h.LastSeen, ReportedAt: h.ReportedAt}
}

func (a *API) createEdgeHost(w http.ResponseWriter, r *http.Request) error {
	var body edgeHostBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name, err := cleanName("name", body.Name, 100)
	if err != nil {
		return err
	}
	d, err := ttl("expiresIn", body.ExpiresIn, a.cfg.EnrollmentTTL, maxEnrollmentTTL)
	if err != nil {
		return err
	}
	token, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h, err := a.store.CreateEdgeHost(r.Context(), PrincipalFrom(r.Context()).Org, name, hash, a.store.Now().Add(d))
	if err != nil {
		return err
	}
	v := viewEdgeHost(h)
	v.EnrollmentToken, v.ExpiresAt = token, h.TokenExpiresAt
	w.Header().Set("Location", "/api/v1/orgs/"+h.Org+"/edgehosts/"+h.ID)
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) listEdgeHosts(w http.ResponseWriter, r *http.Request) error {
	hs, err := a.store.EdgeHosts(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	out := make([]edgeHostView, 0, len(hs))
	for _, h := range hs {
		out = append(out, viewEdgeHost(h))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) getEdgeHost(w http.ResponseWriter, r *http.Request) error {
	h, err := a.store.EdgeHost(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewEdgeHost(h))
}

func (a *API) deleteEdgeHost(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteEdgeHost(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id")); err != nil {
		return err
	}
	if a.cfg.Links != nil {
		a.cfg.Links.Disconnect(r.PathValue("id"))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
