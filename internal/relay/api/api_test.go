package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// adminSetup starts a relay and returns it, the first admin's token and the default
// organization's ID.
func adminSetup(t *testing.T) (*relaytest.Relay, string, string) {
	t.Helper()
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"items"`
	}
	r.Do(t, "GET", "/api/v1/orgs", tok, nil).JSON(t, &orgs)
	if len(orgs.Items) != 1 || orgs.Items[0].Name != "default" || orgs.Items[0].Role != "admin" {
		t.Fatalf("orgs of the first admin: %+v", orgs)
	}
	return r, tok, orgs.Items[0].ID
}

func TestTokenEndpoint(t *testing.T) {
	r, adminTok, org := adminSetup(t)
	var client struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/clients", adminTok, map[string]any{"name": "vms", "role": "operator"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create client: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &client)

	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(client.ClientID+":"+client.ClientSecret))
	cases := []struct {
		name        string
		contentType string
		authz       string
		body        string
		status      int
		errCode     string
	}{
		{"password", "", "", "grant_type=password&username=admin@example.com&password=first-admin-password", 200, ""},
		{"email case-insensitive", "", "", "grant_type=password&username=ADMIN@example.com&password=first-admin-password", 200, ""},
		{"wrong password", "", "", "grant_type=password&username=admin@example.com&password=nope-nope", 400, "invalid_grant"},
		{"unknown user", "", "", "grant_type=password&username=nobody@example.com&password=whatever1", 400, "invalid_grant"},
		{"missing password", "", "", "grant_type=password&username=admin@example.com", 400, "invalid_request"},
		{"client credentials", "", "", "grant_type=client_credentials&client_id=" + client.ClientID + "&client_secret=" + client.ClientSecret, 200, ""},
		{"client credentials basic", "", basic, "grant_type=client_credentials", 200, ""},
		{"basic and body", "", basic, "grant_type=client_credentials&client_id=" + client.ClientID, 400, "invalid_request"},
		{"wrong secret", "", "", "grant_type=client_credentials&client_id=" + client.ClientID + "&client_secret=ccs_wrong", 401, "invalid_client"},
		{"unknown client", "", "", "grant_type=client_credentials&client_id=cli_nope&client_secret=x", 401, "invalid_client"},
		{"unsupported grant", "", "", "grant_type=authorization_code&code=x", 400, "unsupported_grant_type"},
		{"no grant", "", "", "username=a", 400, "invalid_request"},
		{"repeated parameter", "", "", "grant_type=password&grant_type=password&username=a&password=b", 400, "invalid_request"},
		{"JSON body", "application/json", "", `{"grant_type":"password"}`, 400, "invalid_request"},
		{"bad form", "", "", "grant_type=%zz", 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", r.URL+"/api/v1/auth/token", strings.NewReader(c.body))
			ct := c.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			if c.authz != "" {
				req.Header.Set("Authorization", c.authz)
			}
			resp, err := r.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int    `json:"expires_in"`
				Error       string `json:"error"`
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if c.status == 200 {
				if body.TokenType != "Bearer" || !strings.HasPrefix(body.AccessToken, "cct_") || body.ExpiresIn <= 0 {
					t.Errorf("token answer %+v", body)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Error("token answer may be cached")
				}
			} else if body.Error != c.errCode {
				t.Errorf("error %q, want %q", body.Error, c.errCode)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestTokenExpiryAndRevocation(t *testing.T) {
	r, adminTok, org := adminSetup(t)
	get := func(tok string) int { return r.Do(t, "GET", "/api/v1/orgs/"+org, tok, nil).Status }

	if s := get(adminTok); s != 200 {
		t.Fatalf("fresh token: %d", s)
	}
	r.Clock.Advance(12*time.Hour - time.Second)
	if s := get(adminTok); s != 200 {
		t.Fatalf("token just before expiry: %d", s)
	}
	r.Clock.Advance(time.Second)
	res := r.Do(t, "GET", "/api/v1/orgs/"+org, adminTok, nil)
	if p := checkProblem(t, res, 401); !strings.Contains(p.Detail, "expired") {
		t.Errorf("expired token: %q", p.Detail)
	}

	// Log out: revoke the caller's own token.
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	if res := r.Do(t, "POST", "/api/v1/auth/revoke", tok, nil); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if s := get(tok); s != 401 {
		t.Errorf("revoked token: %d", s)
	}

	// Revoking someone else's token is a silent no-op.
	tok = r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	other := r.CreateUser(t, "other@example.com", "other-password")
	otherTok := r.Login(t, other.Email, "other-password")
	revokeReq, _ := http.NewRequestWithContext(t.Context(), "POST", r.URL+"/api/v1/auth/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	revokeReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	revokeReq.Header.Set("Authorization", "Bearer "+otherTok)
	if resp, err := r.Client.Do(revokeReq); err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke another's token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if s := r.Do(t, "GET", "/api/v1/orgs", otherTok, nil).Status; s != 200 {
		t.Fatalf("revoking another's token ended mine: %d", s)
	}
	if s := get(tok); s != 200 {
		t.Errorf("another user's revoke ended my token: %d", s)
	}

	// An application's token ends with the application.
	var client struct {
		ID           string `json:"id"`
		ClientSecret string `json:"clientSecret"`
	}
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/clients", tok, map[string]any{"name": "app", "role": "viewer"}).JSON(t, &client)
	appTok := r.ClientToken(t, client.ID, client.ClientSecret)
	if s := get(appTok); s != 200 {
		t.Fatalf("app token: %d", s)
	}
	r.Clock.Advance(time.Hour)
	if s := get(appTok); s != 401 {
		t.Errorf("app token after its hour: %d", s)
	}
	appTok = r.ClientToken(t, client.ID, client.ClientSecret)
	if res := r.Do(t, "DELETE", "/api/v1/orgs/"+org+"/clients/"+client.ID, tok, nil); res.Status != 204 {
		t.Fatalf("delete client: %d", res.Status)
	}
	if s := get(appTok); s != 401 {
		t.Errorf("token of a deleted client: %d", s)
	}

	// A removed member loses access at once, with 404 (the organization is not theirs).
	if _, err := r.Store.AddMember(t.Context(), org, other.ID, role.Viewer); err != nil {
		t.Fatal(err)
	}
	if s := get(otherTok); s != 200 {
		t.Fatalf("member: %d", s)
	}
	if res := r.Do(t, "DELETE", "/api/v1/orgs/"+org+"/members/"+other.ID, tok, nil); res.Status != 204 {
		t.Fatalf("remove member: %d %s", res.Status, res.Body)
	}
	if s := get(otherTok); s != 404 {
		t.Errorf("removed member: %d", s)
	}

	// A password reset ends every session of the user.
	if err := r.Store.SetPassword(t.Context(), other.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if s := r.Do(t, "GET", "/api/v1/orgs", otherTok, nil).Status; s != 401 {
		t.Errorf("token after password reset: %d", s)
	}
	for _, bad := range []string{"Bearer", "Bearer cct_short", "Basic abc", "Bearer " + strings.Repeat("x", 5000)} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", r.URL+"/api/v1/orgs", nil)
		req.Header.Set("Authorization", bad)
		resp, err := r.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %.20q: %d", bad, resp.StatusCode)
		}
	}
}

func TestStrictJSON(t *testing.T) {
	r, tok, org := adminSetup(t)
	path := "/api/v1/orgs/" + org + "/devices"
	cases := []struct {
		name, body, problemType, param string
		status                         int
	}{
		{"unknown field", `{"serial":"ACCC8E000001","colour":"red"}`, problem.UnknownField.URI, "colour", 400},
		{"malformed", `{"serial":`, problem.MalformedJSON.URI, "", 400},
		{"not JSON", `serial=ACCC8E000001`, problem.MalformedJSON.URI, "", 400},
		{"trailing data", `{"serial":"ACCC8E000001"} {}`, problem.MalformedJSON.URI, "", 400},
		{"null", `null`, problem.MalformedJSON.URI, "", 400},
		{"array", `[1,2]`, problem.MalformedJSON.URI, "", 400},
		{"empty", ``, problem.MalformedJSON.URI, "", 400},
		{"wrong type", `{"serial":12}`, problem.Validation.URI, "serial", 400},
		{"bad serial", `{"serial":"ACCC8E00000G"}`, problem.Validation.URI, "serial", 400},
		{"bad oak", `{"serial":"ACCC8E000001","oak":"x"}`, problem.Validation.URI, "oak", 400},
		{"too large", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, problem.TooLarge.URI, "", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.Do(t, "POST", path, tok, c.body)
			if res.Status != c.status {
				t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
			}
			p := checkProblem(t, res, c.status)
			if p.Type != c.problemType {
				t.Errorf("type %s, want %s", p.Type, c.problemType)
			}
			if c.param != "" && (len(p.InvalidParams) == 0 || p.InvalidParams[0].Name != c.param) {
				t.Errorf("invalidParams %+v, want %s", p.InvalidParams, c.param)
			}
		})
	}
	t.Run("media type", func(t *testing.T) {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", r.URL+path, strings.NewReader(`{"serial":"ACCC8E000001"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := r.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 415 {
				t.Errorf("content type %q: %d", ct, resp.StatusCode)
			}
		}
	})
}

func TestDevices(t *testing.T) {
	r, tok, org := adminSetup(t)
	base := "/api/v1/orgs/" + org + "/devices"
	// Claim a device as camsim prints it.
	res := r.Do(t, "POST", base, tok, map[string]any{"serial": "accc8e010000", "model": "P3265-V", "oak": "N9GJ-WFNE-LH1M"})
	if res.Status != 201 || res.Header.Get("Location") != base+"/ACCC8E010000" {
		t.Fatalf("claim: %d %s %v", res.Status, res.Body, res.Header)
	}
	if strings.Contains(strings.ToLower(string(res.Body)), "oak") {
		t.Errorf("the answer mentions the key: %s", res.Body)
	}
	var d struct {
		Serial, Status, Integration, Group string
	}
	res.JSON(t, &d)
	if d.Serial != "ACCC8E010000" || d.Status != "claimed" || d.Integration != "light" {
		t.Errorf("claimed device %+v", d)
	}
	// A claim proves nothing until the device's agent proves the key: another
	// organization may claim it too, and each sees its own record only.
	other := r.CreateUser(t, "b@example.com", "b-password")
	otherOrg, err := r.Store.CreateOrg(t.Context(), "B", other.ID)
	if err != nil {
		t.Fatal(err)
	}
	otherTok := r.Login(t, other.Email, "b-password")
	res = r.Do(t, "POST", "/api/v1/orgs/"+otherOrg.ID+"/devices", otherTok, map[string]any{"serial": "ACCC8E010000", "oak": "N9GJ-WFNE-LH1M"})
	if res.Status != 201 {
		t.Errorf("unproven claim by B beside A's: %d %s", res.Status, res.Body)
	}
	var mine struct{ Model string }
	r.Do(t, "GET", "/api/v1/orgs/"+otherOrg.ID+"/devices/ACCC8E010000", otherTok, nil).JSON(t, &mine)
	if mine.Model != "" {
		t.Errorf("B sees A's record: %+v", mine)
	}
	// A's record is not B's to see: 404, not 403.
	checkProblem(t, r.Do(t, "GET", base+"/ACCC8E010000", otherTok, nil), 404)
	// Registering twice conflicts.
	checkProblem(t, r.Do(t, "POST", base, tok, map[string]any{"serial": "ACCC8E010000"}), 409)

	// Light registrations and paging.
	for i := 1; i <= 5; i++ {
		serial := "ACCC8E02000" + string(rune('0'+i))
		if res := r.Do(t, "POST", base, tok, map[string]any{"serial": serial, "model": "M1075-L"}); res.Status != 201 {
			t.Fatalf("register %s: %d %s", serial, res.Status, res.Body)
		}
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		var page struct {
			Items      []struct{ Serial string } `json:"items"`
			NextCursor string                    `json:"nextCursor"`
		}
		q := url.Values{"limit": {"2"}, "status": {"registered"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res := r.Do(t, "GET", base+"?"+q.Encode(), tok, nil)
		if res.Status != 200 {
			t.Fatalf("list: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &page)
		for _, it := range page.Items {
			seen = append(seen, it.Serial)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 5 || seen[0] != "ACCC8E020001" || seen[4] != "ACCC8E020005" {
		t.Errorf("paged registered devices: %v", seen)
	}
	for _, q := range []string{"limit=0", "limit=x", "status=lost", "cursor=%21%21", "colour=red"} {
		checkProblem(t, r.Do(t, "GET", base+"?"+q, tok, nil), 400)
	}

	// Groups: assign, refuse an unknown one, clear.
	var g struct{ ID string }
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/resource-groups", tok, map[string]any{"name": "Lobby"}).JSON(t, &g)
	res = r.Do(t, "PATCH", base+"/ACCC8E020001", tok, map[string]any{"group": g.ID, "name": "door"})
	res.JSON(t, &d)
	if res.Status != 200 || d.Group != g.ID {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	var filtered struct{ Items []struct{ Serial string } }
	r.Do(t, "GET", base+"?group="+g.ID, tok, nil).JSON(t, &filtered)
	if len(filtered.Items) != 1 || filtered.Items[0].Serial != "ACCC8E020001" {
		t.Errorf("group filter: %+v", filtered)
	}
	if p := checkProblem(t, r.Do(t, "PATCH", base+"/ACCC8E020001", tok, map[string]any{"group": "grp_nope"}), 400); p.InvalidParams[0].Name != "group" {
		t.Errorf("unknown group: %+v", p)
	}
	// A group of organization B is unknown in A.
	bg, _ := r.Store.CreateGroup(t.Context(), otherOrg.ID, "B's", "")
	checkProblem(t, r.Do(t, "PATCH", base+"/ACCC8E020001", tok, map[string]any{"group": bg.ID}), 400)
	d.Group = ""
	r.Do(t, "PATCH", base+"/ACCC8E020001", tok, map[string]any{"group": ""}).JSON(t, &d)
	if d.Group != "" {
		t.Error("group not cleared")
	}
	if s := r.Do(t, "DELETE", base+"/ACCC8E010000", tok, nil).Status; s != 204 {
		t.Fatalf("delete: %d", s)
	}
	// B's claim is its own, untouched by A's deletion.
	if res := r.Do(t, "POST", "/api/v1/orgs/"+otherOrg.ID+"/devices", otherTok, map[string]any{"serial": "ACCC8E010000", "oak": "N9GJ-WFNE-LH1M"}); res.Status != 200 {
		t.Errorf("claim by B after A deleted its own: %d %s", res.Status, res.Body)
	}
}

func TestInvitations(t *testing.T) {
	r, tok, org := adminSetup(t)
	invite := func(body map[string]any) (id, code string) {
		t.Helper()
		var inv struct{ ID, Code string }
		res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, body)
		if res.Status != 201 {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &inv)
		return inv.ID, inv.Code
	}
	_, code := invite(map[string]any{"role": "operator"})
	res := r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", "", map[string]any{"email": "new@example.com", "password": "new-password"})
	if res.Status != 200 {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	newTok := r.Login(t, "new@example.com", "new-password")
	var o struct{ Role string }
	r.Do(t, "GET", "/api/v1/orgs/"+org, newTok, nil).JSON(t, &o)
	if o.Role != "operator" {
		t.Errorf("role after accepting: %q", o.Role)
	}
	if p := checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", newTok, nil), 410); p.Type != problem.InvitationUsed.URI {
		t.Errorf("reuse: %s", p.Type)
	}
	checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/cci_unknown/accept", newTok, nil), 404)

	// A logged-in person accepts without a body.
	u := r.CreateUser(t, "existing@example.com", "existing-pw")
	uTok := r.Login(t, u.Email, "existing-pw")
	_, code = invite(map[string]any{"role": "viewer", "email": "existing@example.com"})
	checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", newTok, nil), 403) // addressed to someone else
	if res := r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", uTok, nil); res.Status != 200 {
		t.Fatalf("accept logged in: %d %s", res.Status, res.Body)
	}
	// An existing e-mail cannot be taken over through an invitation.
	_, code = invite(map[string]any{"role": "admin"})
	checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", "", map[string]any{"email": "existing@example.com", "password": "takeover-pw"}), 409)
	checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", "", map[string]any{"email": "short@example.com", "password": "short"}), 400)
	// Expiry.
	_, code = invite(map[string]any{"role": "viewer", "expiresIn": 60})
	r.Clock.Advance(time.Minute)
	if p := checkProblem(t, r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", "", map[string]any{"email": "late@example.com", "password": "late-password"}), 410); p.Type != problem.InvitationExpired.URI {
		t.Errorf("expired: %s", p.Type)
	}
	checkProblem(t, r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, map[string]any{"role": "root"}), 400)
	var list struct{ Items []struct{ ID, Code string } }
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/invitations", tok, nil).JSON(t, &list)
	if len(list.Items) != 4 || list.Items[0].Code != "" {
		t.Errorf("invitations list: %+v", list)
	}
}

func TestMembersAndOrgs(t *testing.T) {
	r, tok, org := adminSetup(t)
	admin, err := r.Store.UserByEmail(t.Context(), relaytest.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if p := checkProblem(t, r.Do(t, "PATCH", "/api/v1/orgs/"+org+"/members/"+admin.ID, tok, map[string]any{"role": "viewer"}), 409); p.Type != problem.LastAdmin.URI {
		t.Errorf("demote last admin: %s", p.Type)
	}
	checkProblem(t, r.Do(t, "DELETE", "/api/v1/orgs/"+org+"/members/"+admin.ID, tok, nil), 409)
	res := r.Do(t, "POST", "/api/v1/orgs", tok, map[string]any{"name": "  Second  "})
	var o struct{ ID, Name, Role string }
	res.JSON(t, &o)
	if res.Status != 201 || o.Name != "Second" || o.Role != "admin" {
		t.Fatalf("create org: %d %s", res.Status, res.Body)
	}
	checkProblem(t, r.Do(t, "POST", "/api/v1/orgs", tok, map[string]any{"name": " "}), 400)
	var list struct {
		Items []struct {
			ID        string
			RunsRelay bool
		}
	}
	r.Do(t, "GET", "/api/v1/orgs", tok, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("orgs: %+v", list)
	}
	// Only the organization made at first start runs the relay (its admins manage the
	// software catalog).
	for _, it := range list.Items {
		if it.RunsRelay != (it.ID == org) {
			t.Errorf("org %s: runsRelay %v", it.ID, it.RunsRelay)
		}
	}
	var one struct{ RunsRelay bool }
	r.Do(t, "GET", "/api/v1/orgs/"+o.ID, tok, nil).JSON(t, &one)
	if one.RunsRelay {
		t.Errorf("a new organization runs the relay")
	}
	if s := r.Do(t, "DELETE", "/api/v1/orgs/"+o.ID, tok, nil).Status; s != 204 {
		t.Fatalf("delete org: %d", s)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/"+o.ID, tok, nil), 404)
}

// TestProfileValidation: a refused profile names each field to correct, so that a form
// can show the reason beside the field.
func TestProfileValidation(t *testing.T) {
	r, tok, org := adminSetup(t)
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/profiles", tok, map[string]any{
		"name": "lobby", "osVersion": "latest", "apps": []map[string]any{{"name": "a b"}}, "overlay": "two\nlines"})
	p := checkProblem(t, res, 400)
	var names []string
	for _, ip := range p.InvalidParams {
		names = append(names, ip.Name)
		if ip.Reason == "" {
			t.Errorf("%s: no reason", ip.Name)
		}
	}
	if p.Type != problem.Validation.URI || !slices.Equal(names, []string{"osVersion", "apps", "overlay"}) {
		t.Errorf("type %s, invalidParams %+v", p.Type, p.InvalidParams)
	}
}

func TestEdgeHostsAndStoreHooks(t *testing.T) {
	r, tok, org := adminSetup(t)
	var h struct {
		ID              string
		EnrollmentToken string
		ExpiresAt       time.Time
		Connected       bool
		Enrolled        bool
		LastSeen        time.Time
	}
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "site-1"})
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &h)
	if !strings.HasPrefix(h.EnrollmentToken, "cce_") || h.ExpiresAt.Sub(r.Clock.Now()) > 24*time.Hour || h.ExpiresAt.Before(r.Clock.Now()) {
		t.Fatalf("edge host answer %+v", h)
	}
	gotOrg, id, err := r.Store.ConsumeEnrollmentToken(t.Context(), h.EnrollmentToken)
	if err != nil || gotOrg != org || id != h.ID {
		t.Fatalf("consume: %s %s %v", gotOrg, id, err)
	}
	seen := r.Clock.Now()
	if err := r.Store.SetAgentConnection(t.Context(), org, h.ID, true, seen); err != nil {
		t.Fatal(err)
	}
	res = r.Do(t, "GET", "/api/v1/orgs/"+org+"/edgehosts/"+h.ID, tok, nil)
	h.EnrollmentToken = ""
	res.JSON(t, &h)
	if !h.Connected || !h.Enrolled || !h.LastSeen.Equal(seen.UTC().Round(0)) || h.EnrollmentToken != "" {
		t.Errorf("edge host after link up: %s", res.Body)
	}
	if _, err := r.Store.OnboardDevice(t.Context(), org, h.ID, "ACCC8E030001", "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: "ACCC8E030001", Model: "Q6135-LE", FirmwareVersion: "12.0.1", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Status, Integration, Tier, EdgeHost, FirmwareVersion string
		Connected                                            bool
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices/ACCC8E030001", tok, nil).JSON(t, &d)
	if d.Status != "onboarded" || d.Integration != "deep" || d.Tier != "edgehost" || d.EdgeHost != h.ID || !d.Connected {
		t.Errorf("reported device: %+v", d)
	}
	checkProblem(t, r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "x", "expiresIn": 99999999}), 400)
	if s := r.Do(t, "DELETE", "/api/v1/orgs/"+org+"/edgehosts/"+h.ID, tok, nil).Status; s != 204 {
		t.Fatalf("delete: %d", s)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/orgs/"+org+"/edgehosts/"+h.ID, tok, nil), 404)
}

func TestHealthMetricsAndUnknownRoutes(t *testing.T) {
	r, tok, _ := adminSetup(t)
	res := r.Do(t, "GET", "/healthz", "", nil)
	if res.Status != 200 || res.Header.Get(problem.RequestIDHeader) == "" {
		t.Fatalf("healthz: %d %v", res.Status, res.Header)
	}
	res = r.Do(t, "GET", "/metrics", "", nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `relay_http_requests_total{method="GET",route="/api/v1/orgs",status="200"}`) {
		t.Errorf("metrics: %d\n%s", res.Status, res.Body)
	}
	checkProblem(t, r.Do(t, "GET", "/api/v1/nothing", tok, nil), 404)
	res = r.Do(t, "PUT", "/api/v1/orgs", tok, nil)
	checkProblem(t, res, 405)
	if res.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}
