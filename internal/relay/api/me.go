package api

import (
	"net/http"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// meView is the caller as GET /api/v1/me answers it: what a client needs right after
// signing in to greet the person, offer the organizations and know whether to ask for
// two-step verification.
type meView struct {
	// Kind is "user" (a person) or "client" (an application).
	Kind store.TokenKind `json:"kind"`
	ID   string          `json:"id"`
	// Email is a person's login; an application has none.
	Email string `json:"email,omitempty"`
	// Name is an application's name; people have no name apart from their address.
	Name string `json:"name,omitempty"`
	// TwoFactor: a person's two-step verification is on (confirmed, not just started).
	TwoFactor bool      `json:"twoFactor"`
	Orgs      []orgView `json:"orgs"`
}

// me is GET /api/v1/me: who the bearer token belongs to.
func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), PrincipalFrom(r.Context())
	orgs, err := a.callerOrgs(ctx, p)
	if err != nil {
		return err
	}
	v := meView{Kind: p.Kind, ID: p.Subject(), Orgs: orgs}
	if v.Orgs == nil {
		v.Orgs = []orgView{} // a person in no organization yet: an empty list, not null
	}
	switch p.Kind {
	case store.TokenClient:
		c, err := a.store.Client(ctx, p.Org, p.ClientID)
		if err != nil {
			return err
		}
		v.Name = c.Name
	default:
		u, err := a.store.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		v.Email, v.TwoFactor = u.Email, u.TwoFactor != nil && u.TwoFactor.Enabled
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, v)
}
