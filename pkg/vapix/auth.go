package vapix

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/icholy/digest"
)

// authTransport carries the authenticated calls. It answers Digest challenges (through
// dt, a DigestTransport) and, over HTTPS only, a challenge that offers Basic and no Digest: AXIS OS 12 under
// its default policy "recommended" asks for Basic on HTTPS and Digest on HTTP (vapix.md
// 1.2). Over plain HTTP Basic would send the password in the clear, so such a challenge
// is never answered there. Once the device asked for Basic over HTTPS, later calls send
// it at once, sparing the challenge; basic is shared by the transports of one client.
type authTransport struct {
	dt         *DigestTransport
	user, pass string
	basic      *atomic.Bool // the device asked for Basic over HTTPS
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tls := req.URL.Scheme == "https" && a.user != ""
	if tls && a.basic.Load() {
		resp, err := a.sendBasic(req)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
		if offersDigest, _ := challenges(resp.Header); !offersDigest {
			return resp, nil
		}
		// The device asks for Digest again (its policy changed): go back to Digest.
		a.basic.Store(false)
		retry, ok := resend(req)
		if !ok {
			return resp, nil
		}
		discard(resp)
		return a.dt.RoundTrip(retry)
	}
	resp, err := a.dt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !tls {
		return resp, err
	}
	if offersDigest, offersBasic := challenges(resp.Header); offersDigest || !offersBasic {
		return resp, nil
	}
	// The Digest transport found no Digest challenge to answer; a request whose body was
	// taken already cannot be answered with Basic either (GetBody tells).
	retry, ok := resend(req)
	if !ok {
		return resp, nil
	}
	discard(resp)
	a.basic.Store(true)
	return a.sendBasic(retry)
}

// sendBasic sends req with Basic credentials, on the transport under Digest.
func (a *authTransport) sendBasic(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(a.user, a.pass)
	return a.dt.next.RoundTrip(r)
}

// challenges tells which schemes a 401 offers.
func challenges(h http.Header) (offersDigest, offersBasic bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		v = strings.TrimSpace(v)
		offersDigest = offersDigest || digest.IsDigest(v)
		offersBasic = offersBasic || len(v) >= 5 && strings.EqualFold(v[:5], "basic") && (len(v) == 5 || v[5] == ' ')
	}
	return offersDigest, offersBasic
}

// resend returns a copy of req to send again, with its body afresh: a request without
// a body can always go again, one with a body only if GetBody still has it.
func resend(req *http.Request) (*http.Request, bool) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r.Body = body
	return r, true
}

// discard reads a little of an answer not passed on, so its connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
