package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type groupBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type groupPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

type groupView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

func viewGroup(g store.Group) groupView {
	return groupView{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt}
}

func cleanDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 1000 {
		return "", problem.Invalid("description", "must be at most 1000 bytes")
	}
	return s, nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	var body groupBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name, err := cleanName("name", body.Name, 100)
	if err != nil {
		return err
	}
	desc, err := cleanDescription(body.Description)
	if err != nil {
		return err
	}
	g, err := a.store.CreateGroup(r.Context(), PrincipalFrom(r.Context()).Org, name, desc)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orgs/"+g.Org+"/resource-groups/"+g.ID)
	return writeJSON(w, http.StatusCreated, viewGroup(g))
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.store.Groups(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	out := make([]groupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, viewGroup(g))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.store.Group(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewGroup(g))
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request) error {
	var body groupPatch
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	var name, desc string
	var err error
	if body.Name != nil {
		if name, err = cleanName("name", *body.Name, 100); err != nil {
			return err
		}
	}
	if body.Description != nil {
		if desc, err = cleanDescription(*body.Description); err != nil {
			return err
		}
	}
	g, err := a.store.UpdateGroup(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"), func(g *store.Group) error {
		if body.Name != nil {
			g.Name = name
		}
		if body.Description != nil {
			g.Description = desc
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewGroup(g))
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteGroup(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
