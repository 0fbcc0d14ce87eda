package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// codeAt is what an authenticator app shows at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP turns two-step verification on for the token's user and returns the secret
// and the recovery codes.
func enrolTOTP(t *testing.T, r *relaytest.Relay, tok string) (string, []string) {
	t.Helper()
	res := r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil)
	if res.Status != http.StatusCreated {
		t.Fatalf("start enrolment: %d %s", res.Status, res.Body)
	}
	var en struct{ Secret, URI string }
	res.JSON(t, &en)
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != en.Secret {
		t.Fatalf("enrolment URI %q for secret %q", en.URI, en.Secret)
	}
	res = r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": codeAt(t, en.Secret, r.Clock.Now())})
	if res.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	var rc struct{ RecoveryCodes []string }
	res.JSON(t, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes: %v", rc.RecoveryCodes)
	}
	return en.Secret, rc.RecoveryCodes
}

func otpForm(user, pw, code string) url.Values {
	f := passwordForm(user, pw)
	if code != "" {
		f.Set("otp", code)
	}
	return f
}

func TestTwoFactorSignIn(t *testing.T) {
	r, tok, org := adminSetup(t)
	admin := relaytest.AdminEmail

	// A started enrolment changes nothing until confirmed.
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil); res.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	r.Login(t, admin, relaytest.AdminPassword)
	res := r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": "000000"})
	if p := checkProblem(t, res, http.StatusBadRequest); p.Type != problem.Validation.URI {
		t.Fatalf("wrong confirming code: %+v", p)
	}

	secret, recovery := enrolTOTP(t, r, tok)
	var st struct {
		Enabled           bool
		RecoveryCodesLeft int
	}
	r.Do(t, "GET", "/api/v1/auth/two-factor", tok, nil).JSON(t, &st)
	if !st.Enabled || st.RecoveryCodesLeft != 10 {
		t.Fatalf("state after enrolment: %+v", st)
	}
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil); res.Status != http.StatusConflict {
		t.Fatalf("second enrolment while on: %d", res.Status)
	}

	// The password alone is no longer enough, and the answer says what is missing.
	res = tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, ""))
	if p := checkProblem(t, res, http.StatusUnauthorized); p.Type != problem.OTPRequired.URI {
		t.Fatalf("without otp: %+v", p)
	}
	// A wrong password still answers the OAuth error, so the code is not asked first.
	res = tokenFrom(t, r, "", otpForm(admin, "wrong", ""))
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "invalid_grant") {
		t.Fatalf("wrong password: %d %s", res.Status, res.Body)
	}
	res = tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, "123456"))
	if p := checkProblem(t, res, http.StatusUnauthorized); p.Type != problem.OTPInvalid.URI {
		t.Fatalf("wrong otp: %+v", p)
	}

	// The current code works once; the same code again is refused (replay).
	r.Clock.Advance(30 * time.Second)
	code := codeAt(t, secret, r.Clock.Now())
	if res := tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, code)); res.Status != http.StatusOK {
		t.Fatalf("right otp: %d %s", res.Status, res.Body)
	}
	res = tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, code))
	if p := checkProblem(t, res, http.StatusUnauthorized); p.Type != problem.OTPInvalid.URI {
		t.Fatalf("replayed otp: %+v", p)
	}

	// A recovery code works once, dashes or not.
	if res := tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, strings.ToUpper(strings.ReplaceAll(recovery[0], "-", "")))); res.Status != http.StatusOK {
		t.Fatalf("recovery code: %d %s", res.Status, res.Body)
	}
	res = tokenFrom(t, r, "", otpForm(admin, relaytest.AdminPassword, recovery[0]))
	if p := checkProblem(t, res, http.StatusUnauthorized); p.Type != problem.OTPInvalid.URI {
		t.Fatalf("reused recovery code: %+v", p)
	}

	// Wrong codes are audited as failed sign-ins, the recovery code's use too.
	testtool.WaitFor(t, 5*time.Second, "audit entries of two-step verification", func() bool {
		var log struct{ Items []struct{ Action string } }
		r.Do(t, "GET", "/api/v1/orgs/"+org+"/audit", tok, nil).JSON(t, &log)
		seen := map[string]int{}
		for _, e := range log.Items {
			seen[e.Action]++
		}
		return seen["sign-in-failed"] >= 3 && seen["two-factor.enabled"] == 1 && seen["two-factor.recovery-code-used"] == 1
	})

	// Turning it off needs a code; then the password is enough again.
	res = r.Do(t, "POST", "/api/v1/auth/two-factor/disable", tok, map[string]string{"code": "999999"})
	if p := checkProblem(t, res, http.StatusBadRequest); p.Type != problem.Validation.URI {
		t.Fatalf("disable with a wrong code: %+v", p)
	}
	if res := r.Do(t, "POST", "/api/v1/auth/two-factor/disable", tok, map[string]string{"code": recovery[1]}); res.Status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", res.Status, res.Body)
	}
	r.Login(t, admin, relaytest.AdminPassword)
}

func TestWrongCodesAreSlowedDown(t *testing.T) {
	r, tok, _ := adminSetup(t)
	enrolTOTP(t, r, tok)
	// Someone who has the password guesses codes from another address.
	var last *relaytest.Response
	for range 8 {
		last = tokenFrom(t, r, "127.0.0.2", otpForm(relaytest.AdminEmail, relaytest.AdminPassword, "000001"))
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	retryAfter(t, last)
}

func TestOrganizationRequiresTwoFactor(t *testing.T) {
	r, tok, org := adminSetup(t)
	m := r.CreateUser(t, "member@example.com", "member-password")
	if _, err := r.Store.AddMember(t.Context(), org, m.ID, role.Operator); err != nil {
		t.Fatal(err)
	}
	mtok := r.Login(t, "member@example.com", "member-password")

	// An admin without it cannot require it (they would be locked out at once).
	res := r.Do(t, "PATCH", "/api/v1/orgs/"+org, tok, map[string]any{"requireTwoFactor": true})
	if p := checkProblem(t, res, http.StatusForbidden); p.Type != problem.TwoFactorRequired.URI {
		t.Fatalf("require without own: %+v", p)
	}
	enrolTOTP(t, r, tok)
	res = r.Do(t, "PATCH", "/api/v1/orgs/"+org, tok, map[string]any{"requireTwoFactor": true})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"requireTwoFactor":true`) {
		t.Fatalf("require: %d %s", res.Status, res.Body)
	}

	// The member is refused in the organization, with a problem that says why, but may
	// still enrol; then the organization is open to them again.
	res = r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices", mtok, nil)
	if p := checkProblem(t, res, http.StatusForbidden); p.Type != problem.TwoFactorRequired.URI || !strings.Contains(p.Detail, "two-step verification") {
		t.Fatalf("member without 2FA: %+v", p)
	}
	var orgs struct {
		Items []struct{ RequireTwoFactor bool }
	}
	r.Do(t, "GET", "/api/v1/orgs", mtok, nil).JSON(t, &orgs)
	if len(orgs.Items) != 1 || !orgs.Items[0].RequireTwoFactor {
		t.Fatalf("orgs of the member: %+v", orgs)
	}
	enrolTOTP(t, r, mtok)
	if res := r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices", mtok, nil); res.Status != http.StatusOK {
		t.Fatalf("member with 2FA: %d %s", res.Status, res.Body)
	}
}
