package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// Two-step verification: TOTP (RFC 6238) with the parameters every authenticator app
// takes (SHA-1, six digits, 30 seconds), and single-use recovery codes.
const (
	totpPeriod = 30
	// totpSkew is how many steps before and after now a code is taken, for clocks a
	// little apart and codes typed at the end of their step.
	totpSkew          = 1
	recoveryCodeCount = 10
	// recoveryCodeChars base32 characters: 60 bits, shown as three groups of four.
	recoveryCodeChars = 12
	totpIssuer        = "camcloud"
)

// Audit actions of two-step verification.
const (
	auditTOTPEnabled     = "two-factor.enabled"
	auditTOTPDisabled    = "two-factor.disabled"
	auditRecoveryRenewed = "two-factor.recovery-codes-renewed"
	auditRecoveryUsed    = "two-factor.recovery-code-used"
	auditOrgRequires2FA  = "org.two-factor-required"
	auditWrongCode       = "two-factor.wrong-code"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// errWrongCode: the code is neither the current TOTP code nor an unused recovery code.
var errWrongCode = errors.New("wrong second-factor code")

type twoFactorView struct {
	Enabled bool `json:"enabled"`
	// Pending: an enrolment was started and waits for its confirming code.
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recoveryCodesLeft"`
}

type twoFactorEnrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"` // otpauth://totp/..., for a QR code
}

type codeBody struct {
	Code string `json:"code"`
}

type recoveryCodesView struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

// getTwoFactor is GET /api/v1/auth/two-factor: the caller's own state.
func (a *API) getTwoFactor(w http.ResponseWriter, r *http.Request) error {
	u, err := a.store.User(r.Context(), PrincipalFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	var v twoFactorView
	if tf := u.TwoFactor; tf != nil {
		v = twoFactorView{Enabled: tf.Enabled, Pending: !tf.Enabled, RecoveryCodesLeft: len(tf.Recovery)}
		if !tf.Enabled {
			v.RecoveryCodesLeft = 0
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

// startTwoFactor is POST /api/v1/auth/two-factor: a new secret, answered once. It is
// not in use until confirmed with a code; starting again replaces a pending secret.
func (a *API) startTwoFactor(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	var key *otp.Key
	_, err := a.store.UpdateUser(r.Context(), p.UserID, func(u *store.User) error {
		if u.TwoFactor != nil && u.TwoFactor.Enabled {
			return problem.New(problem.Conflict, "two-step verification is already on; turn it off first to enrol another authenticator")
		}
		var err error
		key, err = totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod,
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		u.TwoFactor = &store.TwoFactor{Secret: key.Secret()}
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, twoFactorEnrolment{Secret: key.Secret(), URI: key.URL()})
}

// confirmTwoFactor is POST /api/v1/auth/two-factor/confirm: a code from the pending
// secret turns two-step verification on; the answer carries the recovery codes, once.
func (a *API) confirmTwoFactor(w http.ResponseWriter, r *http.Request) error {
	var body codeBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	codes, hashes := newRecoveryCodes()
	err := a.withCodeAttempt(r, p.UserID, func(now time.Time) error {
		_, err := a.store.UpdateUser(r.Context(), p.UserID, func(u *store.User) error {
			tf := u.TwoFactor
			if tf == nil || tf.Enabled {
				return problem.New(problem.Conflict, "no enrolment is waiting for a code; start one with POST /api/v1/auth/two-factor")
			}
			step, ok := matchTOTP(tf.Secret, body.Code, now, tf.LastStep)
			if !ok {
				return errWrongCode
			}
			tf.Enabled, tf.LastStep, tf.Recovery = true, step, hashes
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	a.auditUser(r, p.UserID, auditTOTPEnabled, "two-step verification turned on", http.StatusOK)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, recoveryCodesView{RecoveryCodes: codes})
}

// disableTwoFactor is POST /api/v1/auth/two-factor/disable: with a current code (or a
// recovery code) it turns two-step verification off, so a stolen token alone cannot.
func (a *API) disableTwoFactor(w http.ResponseWriter, r *http.Request) error {
	var body codeBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	err := a.withCodeAttempt(r, p.UserID, func(now time.Time) error {
		_, err := a.store.UpdateUser(r.Context(), p.UserID, func(u *store.User) error {
			if u.TwoFactor == nil || !u.TwoFactor.Enabled {
				return problem.New(problem.Conflict, "two-step verification is not on")
			}
			if _, err := useSecondFactor(u.TwoFactor, body.Code, now); err != nil {
				return err
			}
			u.TwoFactor = nil
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	a.auditUser(r, p.UserID, auditTOTPDisabled, "two-step verification turned off", http.StatusNoContent)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renewRecoveryCodes is POST /api/v1/auth/two-factor/recovery-codes: with a current
// code, ten new recovery codes replace the old ones.
func (a *API) renewRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	var body codeBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	codes, hashes := newRecoveryCodes()
	err := a.withCodeAttempt(r, p.UserID, func(now time.Time) error {
		_, err := a.store.UpdateUser(r.Context(), p.UserID, func(u *store.User) error {
			tf := u.TwoFactor
			if tf == nil || !tf.Enabled {
				return problem.New(problem.Conflict, "two-step verification is not on")
			}
			step, ok := matchTOTP(tf.Secret, body.Code, now, tf.LastStep)
			if !ok {
				return errWrongCode
			}
			tf.LastStep, tf.Recovery = step, hashes
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	a.auditUser(r, p.UserID, auditRecoveryRenewed, "new recovery codes made", http.StatusOK)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, recoveryCodesView{RecoveryCodes: codes})
}

// withCodeAttempt runs check, which verifies a code, under the sign-in limits of the
// caller's account: six digits are few, and a stolen token must not make guessing them
// free. A wrong code answers a validation problem naming the field.
func (a *API) withCodeAttempt(r *http.Request, userID string, check func(now time.Time) error) error {
	u, err := a.store.User(r.Context(), userID)
	if err != nil {
		return err
	}
	at, wait, ok := a.signin.start(r, "user:"+ident.Key(u.Email))
	if !ok {
		secs := max(int(wait.Round(time.Second)/time.Second), 1)
		return problem.Newf(problem.TooManyAttempts, "too many wrong codes; try again in %d seconds", secs)
	}
	err = check(a.store.Now())
	switch {
	case err == nil:
		at.succeed()
		return nil
	case errors.Is(err, errWrongCode):
		at.fail()
		a.auditUser(r, userID, auditWrongCode, "wrong two-step verification code", http.StatusBadRequest)
		return problem.Invalid("code", "not the current code of the authenticator (or an unused recovery code)")
	default:
		at.cancel()
		return err
	}
}

// useSecondFactor checks code against tf and spends it: a TOTP code moves LastStep on,
// a recovery code is removed. It reports whether a recovery code was used.
func useSecondFactor(tf *store.TwoFactor, code string, now time.Time) (recovery bool, err error) {
	if step, ok := matchTOTP(tf.Secret, code, now, tf.LastStep); ok {
		tf.LastStep = step
		return false, nil
	}
	h := auth.HashSecret(normalRecoveryCode(code))
	for i, stored := range tf.Recovery {
		if subtle.ConstantTimeCompare(stored, h[:]) == 1 {
			tf.Recovery = append(tf.Recovery[:i:i], tf.Recovery[i+1:]...)
			return true, nil
		}
	}
	return false, errWrongCode
}

// matchTOTP finds the time step, within the skew and after last (so that a code is
// taken once), whose code is code.
func matchTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes makes the codes shown to the user and the hashes stored.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // never fails (Go 1.24+)
		c := strings.ToLower(recoveryEncoding.EncodeToString(b))[:recoveryCodeChars]
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:]
		h := auth.HashSecret(c)
		hashes[i] = h[:]
	}
	return codes, hashes
}

// normalRecoveryCode drops the dashes and spaces people type or paste, and case.
func normalRecoveryCode(code string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// secondFactor checks the otp field of a password grant for a user with two-step
// verification on. It is the token endpoint's second step.
func (a *API) secondFactor(ctx context.Context, r *http.Request, u store.User, code string) error {
	if code == "" {
		return problem.New(problem.OTPRequired, "this account has two-step verification on: send the code of its authenticator app (or a recovery code) in the otp field")
	}
	var recovery bool
	_, err := a.store.UpdateUser(ctx, u.ID, func(su *store.User) error {
		if su.TwoFactor == nil || !su.TwoFactor.Enabled {
			return nil // turned off meanwhile: the password was enough
		}
		var err error
		recovery, err = useSecondFactor(su.TwoFactor, code, a.store.Now())
		return err
	})
	if errors.Is(err, errWrongCode) {
		return problem.New(problem.OTPInvalid, "the two-step verification code is wrong, expired or already used")
	}
	if err != nil {
		return err
	}
	if recovery {
		a.auditUser(r, u.ID, auditRecoveryUsed, "signed in with a recovery code", http.StatusOK)
	}
	return nil
}

// checkOrgTwoFactor refuses a person who lacks two-step verification in an
// organization that requires it, telling them what to do.
func (a *API) checkOrgTwoFactor(ctx context.Context, org, userID string) error {
	o, err := a.store.Org(ctx, org)
	if err != nil || !o.RequireTwoFactor {
		return err
	}
	u, err := a.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.TwoFactor == nil || !u.TwoFactor.Enabled {
		return problem.Newf(problem.TwoFactorRequired, "the organization %q requires two-step verification: turn it on (POST /api/v1/auth/two-factor)", o.Name)
	}
	return nil
}

// auditUser records a user's own action in the audit log of each of their organizations.
func (a *API) auditUser(r *http.Request, userID, action, detail string, status int) {
	if a.cfg.Audit == nil {
		return
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	now := a.store.Now().UTC()
	for _, org := range a.orgsOf(r.Context(), userID) {
		a.cfg.Audit.Record(store.AuditEntry{At: now, Org: org, Principal: userID, Action: action,
			Method: r.Method, Path: r.URL.Path, Status: status, Source: source, Detail: detail})
	}
}

// checkTwoFactorOn refuses a person without two-step verification.
func (a *API) checkTwoFactorOn(ctx context.Context, userID string) error {
	u, err := a.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.TwoFactor == nil || !u.TwoFactor.Enabled {
		return problem.New(problem.TwoFactorRequired, "turn on two-step verification for yourself before requiring it of the organization's members")
	}
	return nil
}

// auditOrgTwoFactor records that an admin changed the organization's requirement.
func (a *API) auditOrgTwoFactor(r *http.Request, p *Principal, on bool) {
	if a.cfg.Audit == nil {
		return
	}
	detail := "two-step verification no longer required of members"
	if on {
		detail = "two-step verification required of members"
	}
	a.cfg.Audit.Record(store.AuditEntry{At: a.store.Now().UTC(), Org: p.Org, Principal: p.Subject(), Action: auditOrgRequires2FA,
		Method: r.Method, Path: r.URL.Path, Status: http.StatusOK, Detail: detail})
}
