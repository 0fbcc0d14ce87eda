package api

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/ratelimit"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// How failed sign-ins (both grants of the token endpoint) are slowed down; see
// docs/operating.md. An account is held up briefly so that an attacker cannot keep its
// owner out for long; an address longer, since it only holds up that address.
var (
	accountLimits = ratelimit.Config{Free: 5, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute}
	addressLimits = ratelimit.Config{Free: 20, Base: time.Second, Max: 5 * time.Minute, Forget: time.Hour}
	// knownSourceTTL is how long a successful sign-in from an address lets its account
	// sign in from there past the account's delay (the address's own limit still holds).
	knownSourceTTL = 30 * 24 * time.Hour
)

// maxLimitKey bounds the part of a key that comes from the caller, so that the
// limiters' memory stays bounded too.
const maxLimitKey = 256

// signinLimits are the limiters of the token endpoint.
type signinLimits struct {
	accounts  *ratelimit.Limiter // "user:" ident.Key(username), "client:" client_id
	addresses *ratelimit.Limiter // ratelimit.AddressKey(r.RemoteAddr)
	known     *ratelimit.Recent  // account " " address that signed in successfully
}

func newSigninLimits(now func() time.Time) *signinLimits {
	acc, addr := accountLimits, addressLimits
	acc.Now, addr.Now = now, now
	return &signinLimits{
		accounts: ratelimit.New(acc), addresses: ratelimit.New(addr),
		known: ratelimit.NewRecent(knownSourceTTL, 0, now),
	}
}

// attempt is one sign-in attempt that the limiters let through; end it exactly once.
type attempt struct {
	l                *signinLimits
	account, address string
}

// start lets an attempt for account from the request's address through, or answers how
// long to wait. An account that signed in from this address before is not held up by
// its account's delay there, so an attacker elsewhere cannot lock its owner out.
func (l *signinLimits) start(r *http.Request, account string) (*attempt, time.Duration, bool) {
	if len(account) > maxLimitKey {
		account = account[:maxLimitKey]
	}
	at := &attempt{l: l, account: account, address: ratelimit.AddressKey(r.RemoteAddr)}
	wait, ok := l.addresses.Allow(at.address)
	if !ok {
		return nil, wait, false
	}
	if !l.known.Has(at.account + " " + at.address) {
		if wait, ok = l.accounts.Allow(at.account); !ok {
			l.addresses.Cancel(at.address)
			return nil, wait, false
		}
	}
	return at, 0, true
}

// fail counts the attempt as failed for its account and its address.
func (at *attempt) fail() {
	at.l.addresses.Fail(at.address)
	// Also from a known address: the owner's typos count, like anyone's.
	at.l.accounts.Fail(at.account)
}

// cancel ends the attempt without a verdict: the password was right but the second
// factor is still to come.
func (at *attempt) cancel() {
	at.l.addresses.Cancel(at.address)
	at.l.accounts.Cancel(at.account)
}

// succeed forgets the account's failures and remembers the address as its own. The
// address's failures stay: signing in to one account must not wipe out guesses at others.
func (at *attempt) succeed() {
	at.l.addresses.Cancel(at.address)
	at.l.accounts.Succeed(at.account)
	at.l.known.Add(at.account + " " + at.address)
}

// tooManyAttempts is the answer to an attempt the limiters hold up. It is the same for
// the right and a wrong password, since the password is not checked.
func tooManyAttempts(w http.ResponseWriter, wait time.Duration) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return problem.Newf(problem.TooManyAttempts, "too many failed sign-ins for this account or from this address; try again in %d seconds", secs)
}

// auditSigninFailure logs a failed sign-in and records it in the audit log of the
// organizations of the account (a user's memberships, a client's organization); a
// failure for an unknown account is only logged.
func (a *API) auditSigninFailure(ctx context.Context, r *http.Request, grant, principal string, orgs []string, status int) {
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	a.log.WarnContext(ctx, "sign-in failed", "grant", grant, "principal", principal, "source", source, "status", status)
	if a.cfg.Audit == nil {
		return
	}
	now := a.store.Now().UTC()
	for _, org := range orgs {
		a.cfg.Audit.Record(store.AuditEntry{At: now, Org: org, Principal: principal, Action: "sign-in-failed",
			Method: r.Method, Path: r.URL.Path, Status: status, Source: source})
	}
}
