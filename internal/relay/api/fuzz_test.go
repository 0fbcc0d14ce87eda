package api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// FuzzDecodeJSON feeds arbitrary bodies to the strict decoder of every request type: it
// must answer nil or a 4xx problem, never panic and never a 5xx.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"serial":"ACCC8E010000","model":"P3265-V","oak":"N9GJ-WFNE-LH1M"}`,
		`{"serial":"ACCC8E010000","colour":"red"}`,
		`{"name":null,"group":""}`,
		`{"role":"admin","email":"a@b.c","expiresIn":60}`,
		`{"serial":12}`, `{"serial":`, `null`, `[]`, `"x"`, `{} {}`, ``, `{"a":{"b":[1,2,{"c":true}]}}`,
		"{\"name\":\"\\ud800\"}", `{"expiresIn":1e400}`, `{"expiresIn":-1}`,
	} {
		f.Add([]byte(seed))
	}
	targets := []func() any{
		func() any { return &deviceBody{} }, func() any { return &devicePatch{} },
		func() any { return &invitationBody{} }, func() any { return &acceptBody{} },
		func() any { return &groupPatch{} }, func() any { return &edgeHostBody{} },
		func() any { return &orgBody{} }, func() any { return &clientBody{} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range targets {
			err := decodeBody(body, mk())
			if err == nil {
				continue
			}
			var p *problem.Problem
			if !errors.As(err, &p) {
				t.Fatalf("%T: not a problem: %v", err, err)
			}
			if p.Status < 400 || p.Status >= 500 {
				t.Fatalf("status %d for %q", p.Status, body)
			}
		}
	})
}

// FuzzTokenRequest feeds arbitrary token requests to the form parser: it must accept a
// complete grant or answer an RFC 6749 error with 400 or 401.
func FuzzTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "", "grant_type=password&username=a%40b.c&password=secret123")
	f.Add("application/x-www-form-urlencoded", "Basic Y2xpX3g6Y2NzX3k=", "grant_type=client_credentials")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "", "grant_type=client_credentials&client_id=a&client_secret=b")
	f.Add("application/x-www-form-urlencoded", "Basic !!!", "grant_type=client_credentials")
	f.Add("application/json", "", `{"grant_type":"password"}`)
	f.Add("application/x-www-form-urlencoded", "", "grant_type=password&grant_type=x")
	f.Add("application/x-www-form-urlencoded", "Bearer x", "grant_type=%zz;&&=")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, contentType, authorization, body string) {
		req, oerr := parseTokenRequest(contentType, authorization, []byte(body))
		if oerr != nil {
			if oerr.status != http.StatusBadRequest && oerr.status != http.StatusUnauthorized {
				t.Fatalf("status %d", oerr.status)
			}
			switch oerr.Code {
			case oauthInvalidRequest, oauthInvalidClient, oauthUnsupportedGrantType:
			default:
				t.Fatalf("error code %q", oerr.Code)
			}
			return
		}
		switch req.GrantType {
		case "password":
			if req.Username == "" || req.Password == "" {
				t.Fatalf("password grant without credentials: %+v", req)
			}
		case "client_credentials":
			if req.ClientID == "" || req.ClientSecret == "" {
				t.Fatalf("client grant without credentials: %+v", req)
			}
		default:
			t.Fatalf("accepted grant %q", req.GrantType)
		}
	})
}
