package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type invitationBody struct {
	Role      string `json:"role"`
	Email     string `json:"email"`
	ExpiresIn int64  `json:"expiresIn"` // seconds; 0: the default
}

type invitationView struct {
	ID         string    `json:"id"`
	Code       string    `json:"code,omitempty"` // only in the answer that creates it
	Role       role.Role `json:"role"`
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	AcceptedBy string    `json:"acceptedBy,omitempty"`
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
}

func viewInvitation(inv store.Invitation) invitationView {
	return invitationView{ID: inv.ID, Role: inv.Role, Email: inv.Email, CreatedAt: inv.CreatedAt,
		ExpiresAt: inv.ExpiresAt, AcceptedBy: inv.AcceptedBy, AcceptedAt: inv.AcceptedAt}
}

// ttl turns an optional expiresIn (seconds) into a duration within (0, max].
func ttl(field string, seconds int64, def, maxTTL time.Duration) (time.Duration, error) {
	if seconds == 0 {
		return def, nil
	}
	if seconds < 0 || seconds > int64(maxTTL/time.Second) {
		return 0, problem.Invalid(field, "must be between 1 and "+strconv.FormatInt(int64(maxTTL/time.Second), 10)+" seconds")
	}
	return time.Duration(seconds) * time.Second, nil
}

func (a *API) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var body invitationBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	rl, err := parseRole(body.Role)
	if err != nil {
		return err
	}
	email := body.Email
	if email != "" {
		if err := checkEmail("email", email); err != nil {
			return err
		}
	}
	d, err := ttl("expiresIn", body.ExpiresIn, a.cfg.InvitationTTL, maxInvitationTTL)
	if err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	code, hash := auth.NewSecret(auth.PrefixInvitation)
	inv, err := a.store.CreateInvitation(r.Context(), store.Invitation{
		Org: p.Org, Role: rl, Email: email, CreatedBy: p.Subject(), ExpiresAt: a.store.Now().Add(d).UTC(),
	}, hash)
	if err != nil {
		return err
	}
	v := viewInvitation(inv)
	v.Code = code
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) listInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := a.store.Invitations(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	out := make([]invitationView, 0, len(invs))
	for _, inv := range invs {
		out = append(out, viewInvitation(inv))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) deleteInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteInvitation(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkEmail refuses an address ident.CheckEmail refuses, with a problem naming field.
func checkEmail(field, email string) error {
	if err := ident.CheckEmail(email); err != nil {
		return problem.Invalid(field, err.Error())
	}
	return nil
}

type acceptBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type acceptView struct {
	Org    orgView `json:"org"`
	UserID string  `json:"userId"`
	Email  string  `json:"email"`
}

// acceptInvitation is POST /api/v1/invitations/{code}/accept: a logged-in person joins
// with an empty body; someone without an account sends {email, password} and gets one.
func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	hash := auth.HashSecret(r.PathValue("code"))
	p := PrincipalFrom(r.Context())
	var (
		m   store.Member
		err error
	)
	switch {
	case p != nil && p.Kind != store.TokenUser:
		return problem.New(problem.Forbidden, "an application cannot accept an invitation")
	case p != nil:
		m, err = a.store.AcceptInvitation(r.Context(), hash, p.UserID, nil)
	default:
		var body acceptBody
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
		email := body.Email
		if err := checkEmail("email", email); err != nil {
			return err
		}
		pw, herr := a.hasher.Hash(r.Context(), body.Password)
		if errors.Is(herr, auth.ErrWeakPassword) {
			return problem.Invalid("password", "must be 8 to 1024 characters")
		}
		if herr != nil {
			return herr
		}
		m, err = a.store.AcceptInvitation(r.Context(), hash, "", &store.NewUser{Email: email, PasswordHash: pw})
		if errors.Is(err, store.ErrExists) {
			return problem.New(problem.Conflict, "an account with this e-mail address exists, or it is already a member: log in and accept with your token")
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem.New(problem.NotFound, "no such invitation")
	case errors.Is(err, store.ErrUsed):
		return problem.New(problem.InvitationUsed, "this invitation has already been accepted")
	case errors.Is(err, store.ErrExpired):
		return problem.New(problem.InvitationExpired, "this invitation has expired; ask for a new one")
	case errors.Is(err, store.ErrEmailMismatch):
		return problem.New(problem.Forbidden, "this invitation is addressed to another e-mail address")
	case errors.Is(err, store.ErrExists):
		return problem.New(problem.Conflict, "you are already a member of this organization")
	case err != nil:
		return err
	}
	o, err := a.store.Org(r.Context(), m.Org)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, acceptView{
		Org:    orgView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, Role: m.Role},
		UserID: m.UserID, Email: m.Email,
	})
}
