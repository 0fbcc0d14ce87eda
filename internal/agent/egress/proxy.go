package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Target is where a device is and the agent's account on it.
type Target struct {
	Addr           string // host:port of the device's VAPIX (HTTP)
	User, Password string // the agent's own account
}

// Devices finds the devices the agent manages (its inventory); nothing else is reachable.
type Devices interface {
	Target(serial string) (Target, bool)
}

// Config configures a Proxy. Zero values mean the defaults in the comments.
type Config struct {
	Devices Devices // required
	// MaxConcurrent bounds the requests in flight at once across devices (default 64),
	// streams and WebSockets included; a request beyond it waits up to QueueWait for a
	// slot, then is answered 503 with Retry-After.
	MaxConcurrent int
	// QueueWait is how long a request waits for a slot (default 2s; negative: not at all).
	QueueWait time.Duration
	// Timeout bounds the wait for a device's response headers (default 30s); bodies and
	// upgraded connections may stream longer.
	Timeout time.Duration
	Logger  *slog.Logger // default: discarded
	// DialControl, when set, is the net.Dialer Control function of every connection to
	// a device: it sees the resolved address and may refuse it (the networks devices may
	// be at); a refused request is answered 403 address-refused.
	DialControl func(network, address string, c syscall.RawConn) error
}

// Proxy is the agent's http.Handler for EdgeLink requests to its devices' VAPIX. It is
// safe for concurrent use.
type Proxy struct {
	devices Devices
	sem     chan struct{}
	wait    time.Duration // QueueWait
	log     *slog.Logger
	timeout time.Duration
	base    *http.Transport // connections to every device
	rp      *httputil.ReverseProxy

	mu    sync.Mutex
	links map[string]*link // by serial
}

// link is one device as last found in Devices, with the Digest transport that injects
// the agent's account: the VAPIX client's own (vapix.DigestTransport).
type link struct {
	target Target
	auth   *vapix.DigestTransport
}

// New checks cfg (every bad field reported at once) and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	var errs []error
	if cfg.Devices == nil {
		errs = append(errs, errors.New("missing Devices (the inventory of reachable devices)"))
	}
	if cfg.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("negative MaxConcurrent %d", cfg.MaxConcurrent))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("negative Timeout %s", cfg.Timeout))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("egress: config: %w", errors.Join(errs...))
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 64
	}
	if cfg.QueueWait == 0 {
		cfg.QueueWait = 2 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		devices: cfg.Devices,
		sem:     make(chan struct{}, cfg.MaxConcurrent),
		wait:    cfg.QueueWait,
		log:     cfg.Logger.With("component", "egress"),
		timeout: cfg.Timeout,
		links:   map[string]*link{},
	}
	p.base = lanTransport(cfg.Timeout, cfg.DialControl)
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      roundTripFunc(p.roundTrip),
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.gatewayError,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// Close releases idle connections to devices.
func (p *Proxy) Close() { p.base.CloseIdleConnections() }

// route is what ServeHTTP found out about a request, for the proxy's hooks.
type route struct {
	serial string
	path   string // clean, absolute, its own escaped form
	link   *link
}

type routeKey struct{}

func routeOf(ctx context.Context) *route {
	rt, _ := ctx.Value(routeKey{}).(*route)
	return rt
}

// ServeHTTP serves PathPrefix + "{serial}/vapix/{path...}".
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		problem.Write(w, r, problem.Newf(problem.MethodNotAllowed, "method %s is not passed to devices", strconv.Quote(r.Method)))
		return
	}
	serial, devicePath, prob := parseTarget(r.URL, r.RequestURI)
	if prob != nil {
		problem.Write(w, r, prob)
		return
	}
	l, ok := p.link(serial)
	if !ok {
		problem.Write(w, r, problem.New(DeviceUnknown, "no such device"))
		return
	}
	if l == nil {
		p.log.Warn("egress: the inventory gives the device an invalid address", "serial", serial)
		problem.Write(w, r, problem.New(DeviceUnreachable, "the agent has no usable address for the device"))
		return
	}
	if !p.acquire(r.Context()) {
		if r.Context().Err() != nil {
			panic(http.ErrAbortHandler) // not a silent 200: see gatewayError
		}
		w.Header().Set("Retry-After", "1")
		problem.Write(w, r, problem.Newf(TooBusy, "the agent has %d device requests in flight; retry shortly", cap(p.sem)))
		return
	}
	defer func() { <-p.sem }()
	rt := &route{serial: serial, path: devicePath, link: l}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
}

// link returns the device's link, made anew when its target changed; nil with true when
// the inventory's address for it is unusable.
func (p *Proxy) link(serial string) (*link, bool) {
	t, ok := p.devices.Target(serial)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		delete(p.links, serial)
		return nil, false
	}
	if !validAddr(t.Addr) {
		delete(p.links, serial)
		return nil, true
	}
	l := p.links[serial]
	if l == nil || l.target != t {
		l = &link{target: t, auth: vapix.NewDigestTransport(t.User, t.Password, p.base, p.timeout)}
		p.links[serial] = l
	}
	return l, true
}

// strippedRequestHeaders never reach a device: credentials and cookies are the agent's
// business, and the device need not know who forwarded what.
var strippedRequestHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Forwarded", "X-Real-Ip"}

// rewrite points the request at the device: its inventory address, never the Host the
// caller sent, and the checked path. ReverseProxy has already removed hop-by-hop headers,
// the headers Connection names and X-Forwarded-For/Host/Proto.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	rt := routeOf(pr.In.Context())
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = rt.link.target.Addr
	out.URL.Path, out.URL.RawPath = rt.path, ""
	out.URL.Opaque, out.URL.User, out.URL.Fragment, out.URL.RawFragment = "", nil, "", ""
	out.Host = ""
	for _, h := range strippedRequestHeaders {
		out.Header.Del(h)
	}
	for h := range out.Header {
		if strings.HasPrefix(h, "X-Forwarded-") {
			delete(out.Header, h)
		}
	}
}

func (p *Proxy) roundTrip(req *http.Request) (*http.Response, error) {
	rt := routeOf(req.Context())
	if rt == nil || req.URL.Host != rt.link.target.Addr {
		return nil, errors.New("egress: request without a device route") // cannot happen
	}
	return rt.link.auth.RoundTrip(req)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// acquire takes a slot for a request, waiting up to the queue wait for one.
func (p *Proxy) acquire(ctx context.Context) bool {
	select {
	case p.sem <- struct{}{}:
		return true
	default:
	}
	if p.wait <= 0 {
		return false
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// defaultTimeout bounds the wait for a device's or VMS server's answer headers.
const defaultTimeout = 30 * time.Second

// lanTransport is how the agent reaches servers on its own network (devices, VMS
// servers): never through a proxy from the environment, which would see the traffic and
// its credentials, and with a bound on the wait for an answer's headers.
func lanTransport(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *http.Transport {
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if control != nil {
		d.Control = func(network, address string, c syscall.RawConn) error {
			if err := control(network, address, c); err != nil {
				return &refusedError{err}
			}
			return nil
		}
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       55 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // bytes pass through as the server sends them
	}
}

// refusedError is a connection the dial control refused; its text says why (the address
// and how to allow it), which is the agent's own words, never the server's.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }
