package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/ratelimit"
)

// How failed proofs of owning a device (a claim whose owner authentication key does not
// match, an on-device agent's proof that matches no claim) are slowed down, per caller
// (an organization, or the serial for an agent that has no identity yet) and per source
// address. A real owner gets a key right the first time or after a typo or two, so the
// free attempts are few and the delays long: guessing a key is what they hold up.
var (
	proofCallerLimits  = ratelimit.Config{Free: 5, Base: 2 * time.Second, Max: 10 * time.Minute, Forget: time.Hour}
	proofAddressLimits = ratelimit.Config{Free: 10, Base: 2 * time.Second, Max: 10 * time.Minute, Forget: time.Hour}
)

// proofLimits are the limiters of device ownership proofs.
type proofLimits struct {
	callers, addresses *ratelimit.Limiter
}

func newProofLimits(now func() time.Time) *proofLimits {
	c, a := proofCallerLimits, proofAddressLimits
	c.Now, a.Now = now, now
	return &proofLimits{callers: ratelimit.New(c), addresses: ratelimit.New(a)}
}

// start lets a proof attempt by caller from the request's address through, or answers
// 429 with Retry-After. end must be called once, with whether the proof failed.
func (l *proofLimits) start(w http.ResponseWriter, r *http.Request, caller string) (end func(failed bool), err error) {
	if len(caller) > maxLimitKey {
		caller = caller[:maxLimitKey]
	}
	addr := ratelimit.AddressKey(r.RemoteAddr)
	wait, ok := l.addresses.Allow(addr)
	if ok {
		if wait, ok = l.callers.Allow(caller); !ok {
			l.addresses.Cancel(addr)
		}
	}
	if !ok {
		secs := max(int(math.Ceil(wait.Seconds())), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return nil, problem.Newf(problem.TooManyAttempts, "too many failed attempts to prove owning a device; try again in %d seconds", secs)
	}
	return func(failed bool) {
		if failed {
			l.addresses.Fail(addr)
			l.callers.Fail(caller)
			return
		}
		// A success does not wipe out failures: proving one's own device must not
		// reset guesses at another's.
		l.addresses.Cancel(addr)
		l.callers.Cancel(caller)
	}, nil
}
