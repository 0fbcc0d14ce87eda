package vapix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/icholy/digest"
)

const (
	// maxBuffered is the largest body of known length held in memory so that it can be
	// resent after a 401. JSON and CGI calls fit; firmware and packages stream.
	maxBuffered = 64 << 10
	// challengeFresh is how long a learned challenge is trusted for a streamed body
	// before a probe fetches a new one: a device's nonce expires some time after it was
	// issued, however recently it was used (300 s on Apache), and the 401 stale=true that
	// answers an expired one would need the body again.
	challengeFresh = time.Minute
	// DigestProbePath is requested without credentials to learn a challenge before a
	// streamed body: protected on every Axis device and without side effects.
	DigestProbePath = "/axis-cgi/usergroup.cgi"
	// maxDrain bounds what is read of a 401 body before the request is resent, so the
	// connection can be reused.
	maxDrain = 64 << 10
)

// DigestTransport authenticates one device's requests with one account: HTTP Digest
// through github.com/icholy/digest, with the device's challenge cached and its nonce
// reused with an increasing count, so that after the first challenge a call is one round
// trip. It is what a Client authenticates with, and what an agent uses to inject its
// account into requests it forwards (EdgeLink). It is safe for concurrent use.
//
// A request body cannot always be sent twice, so bodies are handled by kind:
//
//   - no body, or a body of known length up to 64 KiB (every JSON or CGI call): the body
//     is held in memory and the request simply resent after a 401;
//   - anything else (firmware, ACAP packages: unknown length or larger) streams through
//     and is never held. Before it is sent the transport makes sure it holds a challenge
//     learned in the last minute (a body-less GET of DigestProbePath if not), and it
//     sends "Expect: 100-continue", so that a device refusing the nonce answers 401
//     before the body leaves. Such a request is resent only if not a byte of the body
//     was read; otherwise the 401 stands.
//
// A 401 that offers no Digest challenge is returned as it is.
type DigestTransport struct {
	user, password string
	next           http.RoundTripper
	probeTimeout   time.Duration

	mu      sync.Mutex
	chal    *digest.Challenge // nil: none learned (or the device asked for none)
	count   int               // nonce count last used with chal
	learned time.Time         // when chal was learned; zero: never probed
}

// NewDigestTransport returns a transport that sends requests through next with the
// credentials of user; probeTimeout bounds a probe for a challenge (0: 30 s).
func NewDigestTransport(user, password string, next http.RoundTripper, probeTimeout time.Duration) *DigestTransport {
	if probeTimeout <= 0 {
		probeTimeout = 30 * time.Second
	}
	return &DigestTransport{user: user, password: password, next: next, probeTimeout: probeTimeout}
}

// CloseIdleConnections closes the idle connections of the transport underneath.
func (t *DigestTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip sends req with credentials, answers one challenge, and returns the device's
// answer, a 401 included when the credentials fail.
func (t *DigestTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := newReplayBody(req)
	if err != nil {
		return nil, err
	}
	if body.streamed() {
		refused, err := t.ensureFresh(req)
		if err != nil || refused != nil {
			return refused, err
		}
	}
	first, err := t.prepare(req, body, body.first())
	if err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(first)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	chal, err := digest.FindChallenge(res.Header)
	if err != nil {
		return res, nil // not a challenge this transport can answer: the 401 stands
	}
	t.learn(chal)
	again, ok := body.again()
	if !ok {
		return res, nil // part of the body went out: it cannot be sent again
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxDrain))
	_ = res.Body.Close()
	second, err := t.prepare(req, body, again)
	if err != nil {
		return nil, err
	}
	return t.next.RoundTrip(second)
}

// prepare clones req with the given body (one attempt's body of rb) and Authorization from
// the cached challenge.
func (t *DigestTransport) prepare(req *http.Request, rb *replayBody, body io.ReadCloser) (*http.Request, error) {
	out := req.Clone(req.Context())
	out.Body = body
	out.GetBody = rb.getBody()
	out.Header.Del("Authorization")
	if _, streamed := body.(*attemptBody); streamed {
		// A device refusing the credentials answers before the body leaves.
		out.Header.Set("Expect", "100-continue")
	} else {
		out.Header.Del("Expect")
	}
	t.mu.Lock()
	chal := t.chal
	t.count++
	count := t.count
	t.mu.Unlock()
	if chal == nil {
		return out, nil
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method:   out.Method,
		URI:      out.URL.RequestURI(),
		GetBody:  out.GetBody, // for qop=auth-int, which a streamed body cannot do
		Count:    count,
		Username: t.user,
		Password: t.password,
	})
	if err != nil {
		return nil, fmt.Errorf("vapix: digest: %w", err)
	}
	out.Header.Set("Authorization", cred.String())
	return out, nil
}

func (t *DigestTransport) learn(chal *digest.Challenge) {
	t.mu.Lock()
	t.chal, t.count, t.learned = chal, 0, time.Now()
	t.mu.Unlock()
}

// ensureFresh makes sure a challenge younger than challengeFresh is cached before a body
// that cannot be resent goes out: a bodyless request without credentials fetches one
// (DigestProbePath). A device that answers it without a challenge needs none; one that
// answers 401 with no Digest challenge (Basic only, over HTTPS) would refuse the request
// too, so that 401 is its answer (refused, with an empty body) and the body stays
// unread, for a caller that can answer the challenge to send.
func (t *DigestTransport) ensureFresh(req *http.Request) (refused *http.Response, err error) {
	t.mu.Lock()
	fresh := !t.learned.IsZero() && time.Since(t.learned) < challengeFresh
	t.mu.Unlock()
	if fresh {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.probeTimeout)
	defer cancel()
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = DigestProbePath, "", ""
	probe, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(probe)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxDrain))
	_ = res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		chal, err := digest.FindChallenge(res.Header)
		if err != nil {
			out := *res
			out.Body, out.ContentLength, out.Request = http.NoBody, 0, req
			return &out, nil
		}
		t.learn(chal)
		return nil, nil
	}
	t.mu.Lock()
	t.learned = time.Now()
	t.mu.Unlock()
	return nil, nil
}

// replayBody is a request body and what it takes to send it again.
type replayBody struct {
	buf    []byte        // held in memory (known length up to maxBuffered)
	orig   io.ReadCloser // no body: nil or http.NoBody
	stream *streamBody   // streamed, sent again only if untouched
}

func newReplayBody(req *http.Request) (*replayBody, error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return &replayBody{orig: req.Body}, nil
	case req.ContentLength > 0 && req.ContentLength <= maxBuffered:
		buf := make([]byte, req.ContentLength)
		if _, err := io.ReadFull(req.Body, buf); err != nil {
			return nil, fmt.Errorf("vapix: reading the request body: %w", err)
		}
		return &replayBody{buf: buf}, nil
	default:
		return &replayBody{stream: &streamBody{r: req.Body}}, nil
	}
}

func (b *replayBody) streamed() bool { return b.stream != nil }

// getBody is the request's GetBody: a new copy of a body held in memory, nil otherwise.
func (b *replayBody) getBody() func() (io.ReadCloser, error) {
	if b.buf == nil {
		return nil
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.buf)), nil }
}

// first is the body of the first attempt; a streamed one asks for 100-continue.
func (b *replayBody) first() io.ReadCloser {
	switch {
	case b.buf != nil:
		return io.NopCloser(bytes.NewReader(b.buf))
	case b.stream != nil:
		return &attemptBody{s: b.stream, gen: 0}
	}
	return b.orig
}

// again is the body of a second attempt, if one can be sent.
func (b *replayBody) again() (io.ReadCloser, bool) {
	if b.stream == nil {
		return b.first(), true
	}
	gen, ok := b.stream.claim()
	if !ok {
		return nil, false
	}
	return &attemptBody{s: b.stream, gen: gen}, true
}

// streamBody hands a streamed body to one attempt at a time. Its state is the attempt's
// generation and whether that attempt read from it: the first read marks it, and a new
// attempt may take the body only while it is unmarked. Reads by an older attempt fail, so
// two attempts never read the same body even if the transport still writes the first
// one after its answer (it does when the 100-continue wait times out).
type streamBody struct {
	r     io.Reader
	mu    sync.Mutex
	gen   int
	taken bool // the current generation read from r
}

func (s *streamBody) claim() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		return 0, false
	}
	s.gen++
	return s.gen, true
}

// use marks gen as reading; false when a newer attempt took the body.
func (s *streamBody) use(gen int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return false
	}
	s.taken = true
	return true
}

type attemptBody struct {
	s      *streamBody
	gen    int
	marked bool
}

var errBodyTaken = errors.New("vapix: request body taken by a newer attempt")

func (a *attemptBody) Read(p []byte) (int, error) {
	if !a.marked {
		if !a.s.use(a.gen) {
			return 0, errBodyTaken
		}
		a.marked = true
	}
	return a.s.r.Read(p)
}

// Close does nothing: the server that received the request owns its body, and the
// transport closes a body it did not send, which must stay usable for a second attempt.
func (a *attemptBody) Close() error { return nil }
