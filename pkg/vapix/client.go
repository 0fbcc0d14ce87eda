package vapix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Config describes how to reach one device. Zero values mean the defaults in the comments.
type Config struct {
	// BaseURL of the device, e.g. http://192.168.0.90 (required).
	BaseURL string
	// User and Password of a VAPIX account (required for all but anonymous calls).
	User, Password string
	// Transport carries the requests (default: a tuned *http.Transport of its own).
	Transport http.RoundTripper
	// DialControl, when set, is the net.Dialer Control function of the default
	// transport (not used with Transport): it sees the resolved address of each
	// connection and may refuse it.
	DialControl func(network, address string, c syscall.RawConn) error
	// Timeout bounds each call (default 30s); a deadline of the call's context that comes
	// sooner wins. Streamed uploads (firmware, applications) are bounded by their context
	// only.
	Timeout time.Duration
	// Logger receives debug logs (default: discarded).
	Logger *slog.Logger
}

// Client calls VAPIX on one device. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client // Digest-authenticated
	anon    *http.Client // no credentials, for anonymous calls
	timeout time.Duration
	log     *slog.Logger
	digest  *DigestTransport
	user    string // the account, "" for none
	// basicOverTLS: the device asked for Basic over HTTPS (see authTransport).
	basicOverTLS atomic.Bool
	// keepalive is how often event streams ping (defaultKeepalive; tests shorten it).
	keepalive time.Duration
}

// New checks cfg (every bad field reported at once) and returns a client.
func New(cfg Config) (*Client, error) {
	var errs []error
	u, err := url.Parse(cfg.BaseURL)
	if cfg.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base URL %q: want http(s)://host[:port]", cfg.BaseURL))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if (cfg.User == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("user and password go together"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("vapix: config: %w", errors.Join(errs...))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // cameras are on the local network
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: cfg.DialControl}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64, // many concurrent calls to one device reuse connections
			IdleConnTimeout:     55 * time.Second,
			// A streamed upload waits this long for the device's 100 Continue (or 401)
			// before its body goes out.
			ExpectContinueTimeout: time.Second,
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	dt := NewDigestTransport(cfg.User, cfg.Password, tr, cfg.Timeout)
	c := &Client{
		base:      u,
		anon:      &http.Client{Transport: tr, CheckRedirect: noRedirect},
		timeout:   cfg.Timeout,
		log:       cfg.Logger.With("component", "vapix", "device", u.Host),
		digest:    dt,
		user:      cfg.User,
		keepalive: defaultKeepalive,
	}
	auth := &authTransport{dt: dt, user: cfg.User, pass: cfg.Password, basic: &c.basicOverTLS}
	c.http = &http.Client{Transport: auth, CheckRedirect: noRedirect}
	return c, nil
}

// noRedirect: a camera has no reason to redirect an API call; following one could send
// credentials elsewhere.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CloseIdleConnections releases the client's idle connections.
func (c *Client) CloseIdleConnections() { c.digest.CloseIdleConnections() }

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// withTimeout bounds one call by the client's timeout, or by the context's deadline when
// that comes sooner: a caller's deadline is a budget for all its calls, not a licence
// for one device that never answers to spend it. A call the device is asked to hold
// (withWait) gets that long more.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.timeout
	if w, ok := ctx.Value(waitKey{}).(time.Duration); ok && w > 0 {
		d += w
	}
	return context.WithTimeout(ctx, d)
}

// waitKey marks a context whose call the device holds up to that long before answering.
type waitKey struct{}

// withWait marks ctx for a call the device may hold for up to wait before answering.
func withWait(ctx context.Context, wait time.Duration) context.Context {
	return context.WithValue(ctx, waitKey{}, wait)
}

// maxReply bounds replies read into memory (snapshots excepted, which have their own).
const maxReply = 8 << 20

// do sends a request and returns the whole body of a 2xx answer; other statuses become
// typed errors.
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, q url.Values, contentType string, body []byte) ([]byte, http.Header, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, transportError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return nil, nil, transportError(err)
	}
	if len(b) > maxReply {
		return nil, nil, fmt.Errorf("%w: reply larger than %d bytes", ErrMalformed, maxReply)
	}
	if err := statusError(resp.StatusCode, b); err != nil {
		return nil, nil, err
	}
	return b, resp.Header, nil
}

func statusError(status int, body []byte) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway:
		return fmt.Errorf("%w: HTTP %d", ErrUnavailable, status)
	}
	snippet := string(body)
	if len(snippet) > 200 {
		snippet = snippet[:200]
	}
	return &HTTPError{Status: status, Body: strings.TrimSpace(snippet)}
}

// transportError marks failures to reach the device as ErrUnavailable: a connection
// refused, reset or cut, a network error, a device that did not answer in time. Callers
// take ErrUnavailable for "try again once the device is back", so a failure of the
// client's own (a request body that could not be read or resent, a TLS certificate it
// does not trust) keeps its own error.
func transportError(err error) error {
	if unreachable(err) {
		// The cause stays in the chain: a caller may tell a connection its own dialer
		// refused (discovery.ErrRefused) from a device that is away.
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func unreachable(err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	// *url.Error, which wraps every failure of http.Client.Do, is a net.Error whatever
	// its cause: judge by the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return true
		}
		err = ue.Err
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// jsonCall posts a JSON API request and decodes data into out (when not nil). A JSON
// error object becomes *Error.
func (c *Client) jsonCall(ctx context.Context, hc *http.Client, cgi, apiVersion, method string, params, out any) error {
	req := map[string]any{"apiVersion": apiVersion, "context": "camcloud", "method": method}
	if params != nil {
		req["params"] = params
	}
	body, _ := json.Marshal(req)
	b, _, err := c.do(ctx, hc, http.MethodPost, "/axis-cgi/"+cgi, nil, "application/json", body)
	if err != nil {
		return err
	}
	return decodeJSONReply(cgi, b, out)
}

// cgi calls a legacy CGI with form arguments posted in the body (as Axis clients do) and
// returns the text reply; a reply starting "Error" or "# Error" becomes *Error.
func (c *Client) cgi(ctx context.Context, path string, args url.Values) (string, error) {
	b, _, err := c.do(ctx, c.http, http.MethodPost, path, nil, "application/x-www-form-urlencoded", []byte(args.Encode()))
	if err != nil {
		return "", err
	}
	text := string(b)
	if err := legacyError(path, text); err != nil {
		return "", err
	}
	return text, nil
}
