package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// OAuth 2.0 error codes (RFC 6749 section 5.2) this endpoint uses.
const (
	oauthInvalidRequest       = "invalid_request"
	oauthInvalidClient        = "invalid_client"
	oauthInvalidGrant         = "invalid_grant"
	oauthUnsupportedGrantType = "unsupported_grant_type"
)

// maxTokenForm bounds the token request body: the fields are short.
const maxTokenForm = 16 << 10

// oauthError is an RFC 6749 error answer. The token endpoint speaks OAuth's own error
// format, not problem+json, because OAuth client libraries parse it.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: code, Description: desc}
}

// tokenRequest is a parsed POST /api/v1/auth/token.
type tokenRequest struct {
	GrantType    string
	Username     string
	Password     string
	ClientID     string
	ClientSecret string
	OTP          string // password grant: the second factor, when the account has one
}

// parseTokenRequest reads the form fields of a token request (RFC 6749 sections 4.3 and
// 4.4, client authentication per section 2.3.1: HTTP Basic or form fields, not both).
// Parameters come only from the body: a password in a query string would end up in logs.
func parseTokenRequest(contentType, authorization string, body []byte) (tokenRequest, *oauthError) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return tokenRequest{}, badRequest(oauthInvalidRequest, "send the fields as application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return tokenRequest{}, badRequest(oauthInvalidRequest, "the form body does not parse")
	}
	for k, v := range form {
		if len(v) > 1 {
			return tokenRequest{}, badRequest(oauthInvalidRequest, "parameter "+k+" is repeated")
		}
	}
	req := tokenRequest{
		GrantType: form.Get("grant_type"), Username: form.Get("username"), Password: form.Get("password"),
		ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret"), OTP: form.Get("otp"),
	}
	if authorization != "" {
		scheme, creds, ok := strings.Cut(authorization, " ")
		if !ok || !strings.EqualFold(scheme, "Basic") {
			return tokenRequest{}, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "only HTTP Basic client authentication is supported here"}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(creds))
		id, secret, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return tokenRequest{}, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "malformed Basic credentials"}
		}
		if req.ClientID != "" || req.ClientSecret != "" {
			return tokenRequest{}, badRequest(oauthInvalidRequest, "send client credentials in the Authorization header or in the body, not both")
		}
		// RFC 6749 2.3.1: the client ID and secret are form-encoded before Basic.
		if req.ClientID, err = url.QueryUnescape(id); err != nil {
			return tokenRequest{}, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "malformed Basic credentials"}
		}
		if req.ClientSecret, err = url.QueryUnescape(secret); err != nil {
			return tokenRequest{}, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "malformed Basic credentials"}
		}
	}
	switch req.GrantType {
	case "":
		return tokenRequest{}, badRequest(oauthInvalidRequest, "grant_type is missing")
	case "password":
		if req.Username == "" || req.Password == "" {
			return tokenRequest{}, badRequest(oauthInvalidRequest, "the password grant needs username and password")
		}
		if err := ident.CheckEmail(req.Username); err != nil {
			return tokenRequest{}, badRequest(oauthInvalidRequest, "username: "+err.Error())
		}
	case "client_credentials":
		if req.ClientID == "" || req.ClientSecret == "" {
			return tokenRequest{}, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "the client_credentials grant needs client_id and client_secret"}
		}
	default:
		return tokenRequest{}, badRequest(oauthUnsupportedGrantType, "grant_type must be password or client_credentials")
	}
	return req, nil
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token is POST /api/v1/auth/token.
func (a *API) token(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenForm))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem.Newf(problem.TooLarge, "the token request is larger than %d bytes", tooBig.Limit)
		}
		return problem.New(problem.BadRequest, "could not read the request body")
	}
	req, oerr := parseTokenRequest(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
	if oerr != nil {
		return a.oauthFail(w, oerr)
	}
	var t store.Token
	now := a.store.Now()
	switch req.GrantType {
	case "password":
		// Held-up attempts are answered before the password is looked at: the answer
		// does not depend on it, and costs no hashing.
		at, wait, ok := a.signin.start(r, "user:"+ident.Key(req.Username))
		if !ok {
			return tooManyAttempts(w, wait)
		}
		u, err := a.store.UserByEmail(r.Context(), req.Username)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			// u.PasswordHash is empty for an unknown user: Verify then spends the same
			// time on a dummy hash, so the answer does not tell which e-mails exist.
			err = a.hasher.Verify(r.Context(), u.PasswordHash, req.Password)
		}
		if err != nil {
			// An attempt that ends without a verdict (the caller went away) counts
			// as failed, so breaking off a guess does not make it free.
			at.fail()
			if !errors.Is(err, auth.ErrMismatch) {
				return err
			}
			var orgs []string
			if u.ID != "" {
				orgs = a.orgsOf(r.Context(), u.ID)
			}
			a.auditSigninFailure(r.Context(), r, req.GrantType, u.ID, orgs, http.StatusBadRequest)
			return a.oauthFail(w, badRequest(oauthInvalidGrant, "wrong e-mail address or password"))
		}
		if u.TwoFactor != nil && u.TwoFactor.Enabled {
			if err := a.secondFactor(r.Context(), r, u, req.OTP); err != nil {
				if req.OTP == "" {
					at.cancel() // the first step: the console asks for the code next
				} else {
					at.fail()
					if errors.Is(err, problem.New(problem.OTPInvalid, "")) {
						a.auditSigninFailure(r.Context(), r, req.GrantType, u.ID, a.orgsOf(r.Context(), u.ID), http.StatusUnauthorized)
					}
				}
				return err
			}
		}
		at.succeed()
		t = store.Token{Kind: store.TokenUser, Subject: u.ID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.UserTokenTTL)}
	case "client_credentials":
		at, wait, ok := a.signin.start(r, "client:"+req.ClientID)
		if !ok {
			return tooManyAttempts(w, wait)
		}
		c, err := a.store.ClientByID(r.Context(), req.ClientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			at.fail()
			return err
		}
		var stored [32]byte
		copy(stored[:], c.SecretHash)
		if err != nil || len(c.SecretHash) != 32 || !auth.Equal(stored, auth.HashSecret(req.ClientSecret)) {
			at.fail()
			var orgs []string
			if c.Org != "" {
				orgs = []string{c.Org}
			}
			a.auditSigninFailure(r.Context(), r, req.GrantType, c.ID, orgs, http.StatusUnauthorized)
			return a.oauthFail(w, &oauthError{status: http.StatusUnauthorized, Code: oauthInvalidClient, Description: "unknown client or wrong secret"})
		}
		at.succeed()
		t = store.Token{Kind: store.TokenClient, Subject: c.ID, Org: c.Org, Role: c.Role, CreatedAt: now, ExpiresAt: now.Add(a.cfg.ClientTokenTTL)}
	}
	tok, hash := auth.NewSecret(auth.PrefixAccessToken)
	if err := a.store.CreateToken(r.Context(), hash, t); err != nil {
		return err
	}
	connlimit.Prove(r.Context()) // a known caller now; its connection is not shed
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(t.ExpiresAt.Sub(now).Seconds())})
}

// orgsOf lists the organizations a user belongs to, for the audit log; a failure to
// read them only costs the audit entries, and is logged.
func (a *API) orgsOf(ctx context.Context, userID string) []string {
	ms, err := a.store.OrgsOf(ctx, userID)
	if err != nil {
		a.log.ErrorContext(ctx, "organizations of a user, for the audit log", "user", userID, "err", err)
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Org.ID)
	}
	return out
}

func (a *API) oauthFail(w http.ResponseWriter, e *oauthError) error {
	if e.status == http.StatusUnauthorized {
		// RFC 6749 5.2: a 401 names the authentication scheme the client should use.
		w.Header().Set("WWW-Authenticate", `Basic realm="camcloud"`)
	}
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, e.status, e)
}

// revoke is POST /api/v1/auth/revoke: RFC 7009 style. With a form field token it revokes
// that token if it belongs to the caller; without one it revokes the caller's own token
// (log out). It answers 200 either way, so it does not tell whether a token existed.
func (a *API) revoke(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenForm))
	if err != nil {
		return problem.New(problem.TooLarge, "the revocation request is too large")
	}
	target := p.TokenHash
	if len(body) > 0 {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			return problem.New(problem.UnsupportedMediaType, "send the token field as application/x-www-form-urlencoded")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return problem.Invalid("token", "the form body does not parse")
		}
		if tok := form.Get("token"); tok != "" {
			target = auth.HashSecret(tok)
			t, err := a.store.LookupToken(r.Context(), target)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) || (err == nil && t.Subject != p.Subject()) {
				w.WriteHeader(http.StatusOK)
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	if err := a.store.RevokeToken(r.Context(), target); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
