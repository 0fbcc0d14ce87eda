package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type orgView struct {
	ID                string        `json:"id"`
	Name              string        `json:"name"`
	CreatedAt         time.Time     `json:"createdAt"`
	Role              role.Role     `json:"role"` // the caller's role in it
	MaintenanceWindow *store.Window `json:"maintenanceWindow,omitempty"`
	RequireTwoFactor  bool          `json:"requireTwoFactor"`
	// RunsRelay marks the organization that runs the relay: its admins manage the
	// software catalog, so a client shows them the catalog's controls.
	RunsRelay bool `json:"runsRelay,omitempty"`
}

type orgPatch struct {
	Name *string `json:"name"`
	// MaintenanceWindow sets when managed devices may be changed automatically; an empty
	// start and end clear it (at once).
	MaintenanceWindow *store.Window `json:"maintenanceWindow"`
	// RequireTwoFactor: members must have two-step verification on to act in it.
	RequireTwoFactor *bool `json:"requireTwoFactor"`
}

type orgBody struct {
	Name string `json:"name"`
}

// cleanName trims a display name and checks its length and characters.
func cleanName(field, s string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", problem.Invalid(field, "is required")
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", problem.Invalid(field, fmt.Sprintf("must be at most %d characters", maxLen))
	}
	// A name is shown beside people's logins: it may not hide or reorder text either.
	if err := ident.CheckText(s); err != nil {
		return "", problem.Invalid(field, err.Error())
	}
	return s, nil
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request) error {
	var body orgBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name, err := cleanName("name", body.Name, 100)
	if err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	o, err := a.store.CreateOrg(r.Context(), name, p.UserID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orgs/"+o.ID)
	return writeJSON(w, http.StatusCreated, orgView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, Role: role.Admin})
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request) error {
	out, err := a.callerOrgs(r.Context(), PrincipalFrom(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

// callerOrgs are the organizations of p with p's role in each: a person's memberships,
// an application's one organization.
func (a *API) callerOrgs(ctx context.Context, p *Principal) ([]orgView, error) {
	op, err := a.store.OperatorOrg(ctx)
	if err != nil {
		return nil, err
	}
	var out []orgView
	if p.Kind == store.TokenClient {
		o, err := a.store.Org(ctx, p.Org)
		if err != nil {
			return nil, err
		}
		out = append(out, orgView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, Role: p.Role, RequireTwoFactor: o.RequireTwoFactor, RunsRelay: o.ID == op})
	} else {
		orgs, err := a.store.OrgsOf(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			out = append(out, orgView{ID: o.Org.ID, Name: o.Org.Name, CreatedAt: o.Org.CreatedAt, Role: o.Role, RequireTwoFactor: o.Org.RequireTwoFactor, RunsRelay: o.Org.ID == op})
		}
	}
	return out, nil
}

func (a *API) getOrg(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	o, err := a.store.Org(r.Context(), p.Org)
	if err != nil {
		return err
	}
	return a.writeOrg(w, r, o)
}

// writeOrg answers the organization as the caller sees it.
func (a *API) writeOrg(w http.ResponseWriter, r *http.Request, o store.Org) error {
	op, err := a.store.OperatorOrg(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, Role: PrincipalFrom(r.Context()).Role,
		MaintenanceWindow: o.MaintenanceWindow, RequireTwoFactor: o.RequireTwoFactor, RunsRelay: o.ID == op})
}

func (a *API) patchOrg(w http.ResponseWriter, r *http.Request) error {
	var body orgPatch
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	var name string
	if body.Name != nil {
		var err error
		if name, err = cleanName("name", *body.Name, 100); err != nil {
			return err
		}
	}
	win := body.MaintenanceWindow
	if win != nil && (win.Start != "" || win.End != "") {
		if err := checkWindow("maintenanceWindow", win); err != nil {
			return err
		}
	}
	p := PrincipalFrom(r.Context())
	if body.RequireTwoFactor != nil && *body.RequireTwoFactor && p.Kind == store.TokenUser {
		// The admin who turns it on would otherwise lock themselves out at once.
		if err := a.checkTwoFactorOn(r.Context(), p.UserID); err != nil {
			return err
		}
	}
	var changed2FA bool
	o, err := a.store.UpdateOrg(r.Context(), p.Org, func(o *store.Org) error {
		if body.RequireTwoFactor != nil && *body.RequireTwoFactor != o.RequireTwoFactor {
			o.RequireTwoFactor, changed2FA = *body.RequireTwoFactor, true
		}
		if body.Name != nil {
			o.Name = name
		}
		if win != nil {
			o.MaintenanceWindow = win
			if win.Start == "" && win.End == "" {
				o.MaintenanceWindow = nil
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if changed2FA {
		a.auditOrgTwoFactor(r, p, o.RequireTwoFactor)
	}
	return a.writeOrg(w, r, o)
}

func (a *API) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	if op, err := a.store.OperatorOrg(r.Context()); err != nil {
		return err
	} else if op == PrincipalFrom(r.Context()).Org {
		return problem.New(problem.Conflict, "this organization runs the relay (its admins manage the software catalog); it cannot be deleted")
	}
	if err := a.store.DeleteOrg(r.Context(), PrincipalFrom(r.Context()).Org); err != nil {
		return err
	}
	if a.cfg.Links != nil {
		a.cfg.Links.DisconnectOrg(PrincipalFrom(r.Context()).Org)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type memberView struct {
	UserID  string    `json:"userId"`
	Email   string    `json:"email"`
	Role    role.Role `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

func viewMember(m store.Member) memberView {
	return memberView{UserID: m.UserID, Email: m.Email, Role: m.Role, AddedAt: m.AddedAt}
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.store.Members(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	out := make([]memberView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewMember(m))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := a.store.Member(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewMember(m))
}

type memberPatch struct {
	Role string `json:"role"`
}

func parseRole(s string) (role.Role, error) {
	rl, err := role.Parse(s)
	if err != nil {
		return role.Unknown, problem.Invalid("role", "must be viewer, operator or admin")
	}
	return rl, nil
}

func (a *API) patchMember(w http.ResponseWriter, r *http.Request) error {
	var body memberPatch
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	rl, err := parseRole(body.Role)
	if err != nil {
		return err
	}
	m, err := a.store.SetMemberRole(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("user"), rl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewMember(m))
}

func (a *API) deleteMember(w http.ResponseWriter, r *http.Request) error {
	err := a.store.RemoveMember(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("user"))
	if errors.Is(err, store.ErrLastAdmin) {
		return problem.New(problem.LastAdmin, "this is the organization's last admin; make someone else admin first")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
