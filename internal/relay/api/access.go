package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind      store.TokenKind
	UserID    string // a person
	ClientID  string // an application
	AgentID   string // an agent (Kind TokenAgent)
	TokenHash [32]byte
	// Org and Role: for an application its one organization and role; for a person the
	// organization of the route and their role in it (set for Org routes only).
	Org  string
	Role role.Role
}

// Subject is the user or client ID.
func (p *Principal) Subject() string {
	switch p.Kind {
	case store.TokenClient:
		return p.ClientID
	case TokenAgent:
		return p.AgentID
	}
	return p.UserID
}

type principalKey struct{}

// PrincipalFrom returns the caller of an authenticated request, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

var errNoCredentials = errors.New("no credentials")

// authenticate reads the bearer token. It returns errNoCredentials when there is no
// Authorization header, and a 401 problem for anything else that is wrong.
func (a *API) authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoCredentials
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, problem.New(problem.Unauthorized, "use an Authorization: Bearer token from POST /api/v1/auth/token")
	}
	tok = strings.TrimSpace(tok)
	if !auth.HasPrefix(tok, auth.PrefixAccessToken) {
		return nil, problem.New(problem.Unauthorized, "the bearer token is malformed")
	}
	hash := auth.HashSecret(tok)
	t, err := a.store.LookupToken(r.Context(), hash)
	switch {
	case errors.Is(err, store.ErrExpired):
		return nil, problem.New(problem.Unauthorized, "the bearer token has expired; request a new one")
	case errors.Is(err, store.ErrNotFound):
		return nil, problem.New(problem.Unauthorized, "the bearer token is unknown or revoked")
	case err != nil:
		return nil, err
	}
	p := &Principal{Kind: t.Kind, TokenHash: hash}
	if t.Kind == store.TokenClient {
		p.ClientID, p.Org, p.Role = t.Subject, t.Org, t.Role
	} else {
		p.UserID = t.Subject
	}
	return p, nil
}

// authorize applies a route's access level and returns the request carrying the
// principal. Order matters: 401 before anything else; then for an organization that the
// caller does not belong to, 404 (as if it did not exist); only then 403 for a role
// that is too low.
func (a *API) authorize(r *http.Request, rt Route) (*http.Request, error) {
	switch rt.Access {
	case Public:
		return r, nil
	case Agent:
		return a.authorizeAgent(r)
	}
	p, err := a.authenticate(r)
	if errors.Is(err, errNoCredentials) {
		if rt.Access == OptionalAuth {
			return r, nil
		}
		return r, problem.New(problem.Unauthorized, "this operation needs an Authorization: Bearer token from POST /api/v1/auth/token")
	}
	if err != nil {
		return r, err
	}
	connlimit.Prove(r.Context())
	info := infoFrom(r.Context())
	if info != nil {
		info.principal = p.Subject()
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	switch rt.Access {
	case UserOnly:
		if p.Kind != store.TokenUser {
			return r, problem.New(problem.Forbidden, "only a person's token can do this, not an application's")
		}
	case RelayAdmin:
		op, err := a.store.OperatorOrg(r.Context())
		if err != nil {
			return r, err
		}
		rl, err := a.store.MemberRole(r.Context(), op, p.UserID)
		if p.Kind != store.TokenUser || errors.Is(err, store.ErrNotFound) || err == nil && rl != role.Admin {
			return r, problem.New(problem.Forbidden, "only admins of the organization that runs this relay manage the software catalog")
		}
		if err != nil {
			return r, err
		}
	case Org:
		org, err := a.resolveOrg(r.Context(), p, r.PathValue("org"))
		if err != nil {
			return r, err
		}
		// Handlers read {org} as the ID, whichever way the caller named it.
		r.SetPathValue("org", org)
		if info != nil {
			info.org = org
		}
		if p.Kind != store.TokenClient {
			rl, err := a.store.MemberRole(r.Context(), org, p.UserID)
			if errors.Is(err, store.ErrNotFound) {
				return r, problem.New(problem.NotFound, "no such organization")
			}
			if err != nil {
				return r, err
			}
			p.Org, p.Role = org, rl
			if err := a.checkOrgTwoFactor(r.Context(), org, p.UserID); err != nil {
				return r, err
			}
		}
		if !p.Role.AtLeast(rt.MinRole) {
			return r, problem.Newf(problem.Forbidden, "this operation needs the %s role; you are %s", rt.MinRole, p.Role)
		}
	}
	return r, nil
}

// TokenAgent marks a Principal authenticated by an agent certificate.
const TokenAgent store.TokenKind = "agent"

// authorizeAgent accepts a request over mutual TLS whose client certificate the relay's CA
// issued (the TLS layer verified the chain: VerifiedChains is only set then), for an agent
// the store still knows. The principal carries the agent ID and its organization.
func (a *API) authorizeAgent(r *http.Request) (*http.Request, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return r, problem.New(problem.Unauthorized, "this operation needs an agent client certificate from enrollment")
	}
	id, err := pki.IdentityOf(r.TLS.VerifiedChains[0][0])
	if err != nil {
		return r, problem.New(problem.Unauthorized, "the client certificate is not an agent certificate")
	}
	if err := a.store.CheckAgent(r.Context(), id.Org, id.AgentID); errors.Is(err, store.ErrNotFound) {
		return r, problem.New(problem.Unauthorized, "this agent is no longer enrolled; enroll it again")
	} else if err != nil {
		return r, err
	}
	if info := infoFrom(r.Context()); info != nil {
		info.principal, info.org = id.AgentID, id.Org
	}
	connlimit.Prove(r.Context())
	p := &Principal{Kind: TokenAgent, AgentID: id.AgentID, Org: id.Org}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), nil
}

// resolveOrg turns the {org} of a path into the ID of an organization the caller belongs
// to. {org} is the ID or the name: people and scripts know their organization by name
// (the CLI takes either). A name is looked up only among the caller's own organizations,
// so another organization's name answers 404 like its ID does; when several of the
// caller's organizations share the name, only the ID says which one is meant.
func (a *API) resolveOrg(ctx context.Context, p *Principal, ref string) (string, error) {
	notFound := problem.New(problem.NotFound, "no such organization")
	if p.Kind == store.TokenClient {
		if ref == p.Org {
			return p.Org, nil
		}
		o, err := a.store.Org(ctx, p.Org)
		if errors.Is(err, store.ErrNotFound) {
			return "", notFound
		}
		if err != nil {
			return "", fmt.Errorf("organization of the application: %w", err)
		}
		if o.Name != ref {
			return "", notFound
		}
		return o.ID, nil
	}
	// Most calls name the organization by ID: one lookup, before reading every
	// organization of the caller for a name.
	if _, err := a.store.MemberRole(ctx, ref, p.UserID); err == nil {
		return ref, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("membership of the caller: %w", err)
	}
	orgs, err := a.store.OrgsOf(ctx, p.UserID)
	if err != nil {
		return "", fmt.Errorf("organizations of the caller: %w", err)
	}
	var byName []string
	for _, o := range orgs {
		if o.Org.ID == ref {
			return ref, nil
		}
		if o.Org.Name == ref {
			byName = append(byName, o.Org.ID)
		}
	}
	switch len(byName) {
	case 0:
		return "", notFound
	case 1:
		return byName[0], nil
	}
	return "", problem.Newf(problem.Conflict, "%d of your organizations are named %q; name it by its ID", len(byName), ref)
}
