package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// TestLookAlikeAccountsAreRefused accepts invitations with addresses that look like the
// first admin's: each is refused as malformed (invisible or control characters) or as
// the existing account (409), and no new user or member appears.
func TestLookAlikeAccountsAreRefused(t *testing.T) {
	r, tok, org := adminSetup(t)
	before, err := r.Store.CountUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		email  string
		status int
	}{
		{"admin@example.com\u200b", 400},     // zero-width space
		{"admin@example.com\u202e", 400},     // right-to-left override
		{"\u200dadmin@example.com", 400},     // zero-width joiner
		{"ad\u00admin@example.com", 400},     // soft hyphen
		{"\ufeffadmin@example.com", 400},     // byte order mark
		{"admin\u0007@example.com", 400},     // BEL
		{"admin@example.com\ue000", 400},     // private use
		{" admin@example.com", 400},          // surrounding whitespace
		{"ADMIN@example.com", 409},           // case
		{"ａｄｍｉｎ@example.com", 409},           // full-width letters (NFKC)
		{"admin@EXAMPLE.COM", 409},           // case of the domain
		{"\u212Aate@example.com", 201},       // Kelvin sign: a new account "kate", made once ...
		{"kate@example.com", 409},            // ... and then the same account
		{"KATE@example.com", 409},            //
		{"\u017fam@example.com", 201},        // long s: "sam", made once ...
		{"sam@example.com", 409},             // ... and then the same account
		{"stra\u00dfe@example.com", 201},     // sharp s folds to "ss" ...
		{"STRASSE@example.com", 409},         // ... so this is the same account
		{"admin@example.com\u2028", 400},     // line separator (Zl)
		{"admin@example.com\U000E0001", 400}, // language tag (Cf)
	} {
		t.Run(strconv.QuoteToASCII(c.email), func(t *testing.T) {
			var inv struct{ Code string }
			r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, map[string]any{"role": "admin"}).JSON(t, &inv)
			res := r.Do(t, "POST", "/api/v1/invitations/"+inv.Code+"/accept", "", map[string]any{"email": c.email, "password": "look-alike-pw"})
			if c.status == 201 {
				if res.Status != http.StatusOK {
					t.Fatalf("accept as %q: %d %s", c.email, res.Status, res.Body)
				}
				before++
				return
			}
			p := checkProblem(t, res, c.status)
			switch c.status {
			case 400:
				if p.Type != problem.Validation.URI || len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != "email" {
					t.Errorf("accept as %q: %+v, want a validation problem naming email", c.email, p)
				}
			case 409:
				if p.Type != problem.Conflict.URI {
					t.Errorf("accept as %q: %+v", c.email, p)
				}
			}
		})
	}
	after, err := r.Store.CountUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("%d users, want %d: a look-alike account was made", after, before)
	}
	ms, err := r.Store.Members(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 { // the admin, kate, sam and strasse
		t.Errorf("members %+v", ms)
	}
	if err := r.Store.Check(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestLookAlikeAddressesAreRefusedEverywhere: an invitation bound to an address with
// invisible characters, and a sign-in with one, are refused naming the field; a
// full-width spelling signs in to the same account.
func TestLookAlikeAddressesAreRefusedEverywhere(t *testing.T) {
	r, tok, org := adminSetup(t)
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, map[string]any{"role": "admin", "email": "admin@example.com\u200b"})
	if p := checkProblem(t, res, 400); len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != "email" {
		t.Errorf("invitation bound to a look-alike: %+v", p)
	}
	res = r.PostForm(t, "/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {"admin@example.com\u200b"}, "password": {relaytest.AdminPassword}})
	if res.Status != 400 || !strings.Contains(string(res.Body), `"invalid_request"`) || !strings.Contains(string(res.Body), "username") {
		t.Errorf("sign-in as a look-alike: %d %s", res.Status, res.Body)
	}
	r.Login(t, "ａｄｍｉｎ@example.com", relaytest.AdminPassword)
}
