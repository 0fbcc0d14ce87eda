package api

import (
	"errors"
	"net/http"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// decodeProfile reads and checks a profile body; the name comes from the path when given.
func decodeProfile(r *http.Request, name string) (profile.Profile, error) {
	var p profile.Profile
	if err := decodeJSON(r, &p); err != nil {
		return p, err
	}
	if name != "" {
		if p.Name != "" && p.Name != name {
			return p, problem.Invalid("name", "differs from the profile named in the path")
		}
		p.Name = name
	}
	if err := p.Validate(); err != nil {
		pr := problem.Newf(problem.Validation, "%v", err)
		for _, fe := range profile.FieldErrors(err) {
			pr.InvalidParams = append(pr.InvalidParams, problem.InvalidParam{Name: fe.Field, Reason: fe.Err.Error()})
		}
		return p, pr
	}
	return p, nil
}

func (a *API) createProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := decodeProfile(r, "")
	if err != nil {
		return err
	}
	org := PrincipalFrom(r.Context()).Org
	if err := a.store.PutProfile(r.Context(), org, p, true); err != nil {
		if errors.Is(err, store.ErrExists) {
			return problem.New(problem.Conflict, "a profile of that name exists; PUT it to change it")
		}
		return err
	}
	w.Header().Set("Location", "/api/v1/orgs/"+org+"/profiles/"+p.Name)
	return writeJSON(w, http.StatusCreated, p)
}

func (a *API) listProfiles(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.store.Profiles(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ps))
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.store.Profile(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// putProfile replaces a profile; the agents of its devices take it at their next sync.
func (a *API) putProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := decodeProfile(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.store.PutProfile(r.Context(), PrincipalFrom(r.Context()).Org, p, false); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (a *API) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteProfile(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
