package api

import (
	"net/http"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type clientBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

type clientView struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret,omitempty"` // only in the answer that creates it
	Name         string    `json:"name"`
	Role         role.Role `json:"role"`
	CreatedAt    time.Time `json:"createdAt"`
}

func viewClient(c store.Client) clientView {
	return clientView{ID: c.ID, ClientID: c.ID, Name: c.Name, Role: c.Role, CreatedAt: c.CreatedAt}
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request) error {
	var body clientBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name, err := cleanName("name", body.Name, 100)
	if err != nil {
		return err
	}
	rl, err := parseRole(body.Role)
	if err != nil {
		return err
	}
	secret, hash := auth.NewSecret(auth.PrefixClientSecret)
	c, err := a.store.CreateClient(r.Context(), PrincipalFrom(r.Context()).Org, name, rl, hash)
	if err != nil {
		return err
	}
	v := viewClient(c)
	v.ClientSecret = secret
	w.Header().Set("Location", "/api/v1/orgs/"+c.Org+"/clients/"+c.ID)
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.store.Clients(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	out := make([]clientView, 0, len(cs))
	for _, c := range cs {
		out = append(out, viewClient(c))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) error {
	c, err := a.store.Client(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewClient(c))
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteClient(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
