package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// An invitation addressed to an existing user's e-mail must not be accepted by a new
// account whose address only case-folds to it (U+017F LATIN SMALL LETTER LONG S folds
// to "s"): it is the existing account, so the attempt is a conflict and makes nothing.
func TestInvitationEmailBindingIsNotBypassedByUnicodeFolding(t *testing.T) {
	r, tok, org := adminSetup(t)
	r.CreateUser(t, "sam@example.com", "sam-password")
	var inv struct{ Code string }
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, map[string]any{"role": "admin", "email": "sam@example.com"})
	if res.Status != 201 {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &inv)
	// The plain takeover attempt is refused (covered by TestInvitations) ...
	checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+inv.Code+"/accept", "", map[string]any{"email": "sam@example.com", "password": "takeover-pw"}), 409)
	// ... and so is a look-alike address.
	res = r.Do(t, "POST", "/api/v1/invitations/"+inv.Code+"/accept", "", map[string]any{"email": "\u017fam@example.com", "password": "takeover-pw"})
	if res.Status != http.StatusConflict {
		t.Fatalf("invitation for sam@example.com accepted by \u017fam@example.com: %d %s", res.Status, res.Body)
	}
}

// The access log must never show an invitation code, also when the request does not
// reach the route (a browser opening the link: GET -> 405; a trailing slash -> 404).
func TestInvitationCodeNeverLogged(t *testing.T) {
	var log testtool.Buffer
	r := relaytest.Start(t, relaytest.LogTo(&log))
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct{ Items []struct{ ID string } }
	r.Do(t, "GET", "/api/v1/orgs", tok, nil).JSON(t, &orgs)
	var inv struct{ Code string }
	r.Do(t, "POST", "/api/v1/orgs/"+orgs.Items[0].ID+"/invitations", tok, map[string]any{"role": "admin"}).JSON(t, &inv)
	for _, c := range []struct{ method, suffix string }{{"POST", "/accept"}, {"GET", "/accept"}, {"POST", "/accept/"}} {
		r.Do(t, c.method, "/api/v1/invitations/"+inv.Code+c.suffix, "", nil)
	}
	// The access log line is written after the answer: wait for all six requests' lines
	// (login, orgs, invitation, the three above), so that the check below sees them.
	requests := func() int { return strings.Count(log.String(), "msg=request") }
	testtool.WaitFor(t, 5*time.Second, "six request lines in the log", func() bool { return requests() >= 6 })
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, inv.Code) {
			t.Errorf("invitation code in the log: %s", l)
		}
	}
}

// expiresIn is seconds: a value whose nanoseconds overflow int64 must be refused, not
// wrap around to a tiny (or negative) lifetime.
func TestExpiresInOverflowIsRefused(t *testing.T) {
	r, tok, org := adminSetup(t)
	for _, path := range []string{"/invitations", "/edgehosts"} {
		body := map[string]any{"role": "viewer", "expiresIn": int64(18446744074)}
		if path == "/edgehosts" {
			body = map[string]any{"name": "site", "expiresIn": int64(18446744074)}
		}
		res := r.Do(t, "POST", "/api/v1/orgs/"+org+path, tok, body)
		if res.Status != http.StatusBadRequest {
			t.Errorf("POST %s expiresIn=18446744074: %d %s", path, res.Status, res.Body)
		}
	}
}

// The organization that runs the relay holds the only people who may manage the
// software catalog, and nothing can name another one: deleting it must be refused.
func TestOperatorOrgCannotBeDeleted(t *testing.T) {
	r, tok, org := adminSetup(t)
	res := r.Do(t, "DELETE", "/api/v1/orgs/"+org, tok, nil)
	if res.Status != http.StatusConflict {
		t.Errorf("delete the operator organization: %d %s", res.Status, res.Body)
	}
	if s := r.Do(t, "DELETE", "/api/v1/releases/rel_x", tok, nil).Status; s == http.StatusForbidden {
		t.Errorf("the relay's admin lost the software catalog: %d", s)
	}
}

// {org} takes the organization's name as well as its ID (the CLI accepts either), for
// people and applications alike; another organization's name answers 404 as its ID does,
// and a name two of the caller's organizations share is refused rather than guessed.
func TestOrgByName(t *testing.T) {
	r, _, _ := adminSetup(t)
	alice := r.CreateUser(t, "alice@example.com", "alice-password")
	bob := r.CreateUser(t, "bob@example.com", "bob-password")
	orgA, err := r.Store.CreateOrg(t.Context(), "default", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.CreateOrg(t.Context(), "bobs", bob.ID); err != nil {
		t.Fatal(err)
	}
	aliceTok := r.Login(t, "alice@example.com", "alice-password")
	bobTok := r.Login(t, "bob@example.com", "bob-password")
	var got struct{ ID, Name string }
	res := r.Do(t, "GET", "/api/v1/orgs/default", aliceTok, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /orgs/default as its member: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &got)
	if got.ID != orgA.ID {
		t.Errorf("GET /orgs/default answered organization %q, want %q", got.ID, orgA.ID)
	}
	if res := r.Do(t, "GET", "/api/v1/orgs/default/devices", aliceTok, nil); res.Status != http.StatusOK {
		t.Errorf("GET /orgs/default/devices: %d %s", res.Status, res.Body)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/default", bobTok, nil), http.StatusNotFound)
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/default/devices", bobTok, nil), http.StatusNotFound)

	res = r.Do(t, "POST", "/api/v1/orgs/default/clients", aliceTok, map[string]any{"name": "app", "role": "viewer"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create a client by organization name: %d %s", res.Status, res.Body)
	}
	var c struct {
		ID     string `json:"id"`
		Secret string `json:"clientSecret"`
	}
	res.JSON(t, &c)
	appTok := r.ClientToken(t, c.ID, c.Secret)
	if res := r.Do(t, "GET", "/api/v1/orgs/default/devices", appTok, nil); res.Status != http.StatusOK {
		t.Errorf("application, by organization name: %d %s", res.Status, res.Body)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/bobs/devices", appTok, nil), http.StatusNotFound)

	if _, err := r.Store.CreateOrg(t.Context(), "default", alice.ID); err != nil {
		t.Fatal(err)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/default", aliceTok, nil), http.StatusConflict)
	if res := r.Do(t, "GET", "/api/v1/orgs/"+orgA.ID, aliceTok, nil); res.Status != http.StatusOK {
		t.Errorf("by ID when the name is shared: %d %s", res.Status, res.Body)
	}
}
