package api_test

import (
	"net/http"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

type meAnswer struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	TwoFactor bool   `json:"twoFactor"`
	Orgs      []struct {
		ID, Name, Role string
		RunsRelay      bool
	} `json:"orgs"`
}

func getMe(t *testing.T, r *relaytest.Relay, tok string) meAnswer {
	t.Helper()
	res := r.Do(t, "GET", "/api/v1/me", tok, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/me: %d %s", res.Status, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var m meAnswer
	res.JSON(t, &m)
	return m
}

// GET /api/v1/me says who signed in: the person with their address, whether two-step
// verification is on and their organizations with the role in each, or the
// application with its name and its one organization.
func TestMe(t *testing.T) {
	r, tok, org := adminSetup(t)
	admin := getMe(t, r, tok)
	if admin.Kind != "user" || admin.Email != relaytest.AdminEmail || admin.TwoFactor || admin.Name != "" ||
		len(admin.Orgs) != 1 || admin.Orgs[0].ID != org || admin.Orgs[0].Role != "admin" || !admin.Orgs[0].RunsRelay {
		t.Fatalf("the first admin: %+v", admin)
	}
	// A pending enrolment is not "on"; a confirmed one is.
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil); res.Status != http.StatusCreated {
		t.Fatalf("start enrolment: %d %s", res.Status, res.Body)
	}
	if m := getMe(t, r, tok); m.TwoFactor {
		t.Fatalf("on while only pending: %+v", m)
	}
	enrolTOTP(t, r, tok)
	if m := getMe(t, r, tok); !m.TwoFactor || m.ID != admin.ID {
		t.Fatalf("after enrolment: %+v", m)
	}

	// A person in no organization, then a viewer of one and admin of their own.
	u := r.CreateUser(t, "someone@example.com", "someone-password")
	utok := r.Login(t, u.Email, "someone-password")
	if m := getMe(t, r, utok); m.ID != u.ID || m.Email != u.Email || m.Orgs == nil || len(m.Orgs) != 0 {
		t.Fatalf("a person without organizations: %+v", m)
	}
	if _, err := r.Store.AddMember(t.Context(), org, u.ID, role.Viewer); err != nil {
		t.Fatal(err)
	}
	own, err := r.Store.CreateOrg(t.Context(), "own", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, o := range getMe(t, r, utok).Orgs {
		roles[o.ID] = o.Role
	}
	if len(roles) != 2 || roles[org] != "viewer" || roles[own.ID] != "admin" {
		t.Fatalf("roles of a person in two organizations: %v", roles)
	}

	// An application.
	secret, hash := auth.NewSecret(auth.PrefixClientSecret)
	c, err := r.Store.CreateClient(t.Context(), own.ID, "ci-pipeline", role.Operator, hash)
	if err != nil {
		t.Fatal(err)
	}
	app := getMe(t, r, r.ClientToken(t, c.ID, secret))
	if app.Kind != "client" || app.ID != c.ID || app.Name != "ci-pipeline" || app.Email != "" || app.TwoFactor ||
		len(app.Orgs) != 1 || app.Orgs[0].ID != own.ID || app.Orgs[0].Role != "operator" {
		t.Fatalf("an application: %+v", app)
	}

	// Without a token, or with a revoked one: 401.
	checkProblem(t, r.Do(t, "GET", "/api/v1/me", "", nil), http.StatusUnauthorized)
	if res := r.Do(t, "POST", "/api/v1/auth/revoke", utok, nil); res.Status/100 != 2 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/me", utok, nil), http.StatusUnauthorized)
}
