package egress

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
)

// VMSPrefix is where a VMSProxy serves: VMSPrefix + "{name}/{path...}".
const VMSPrefix = linkapi.VMSPrefix

// VMSAuthorizationHeader carries a caller's credentials for the VMS's own API: the
// proxy sends it on as Authorization (the caller's Authorization is the relay's, and is
// never passed on).
const VMSAuthorizationHeader = "X-VMS-Authorization"

// VMSProxy forwards EdgeLink requests to the VMS servers an admin registered, and to
// nothing else: the name picks the server, the path is checked as for devices, and
// redirects are never followed.
type VMSProxy struct {
	log *slog.Logger
	rp  *httputil.ReverseProxy

	mu      sync.Mutex
	servers map[string]linkapi.VMSServer
}

// NewVMS makes a VMSProxy with no servers; SetServers gives it the registered ones.
// dialControl, when not nil, sees the resolved address of every connection to a VMS
// server and may refuse it (as Config.DialControl does for devices).
func NewVMS(log *slog.Logger, dialControl func(network, address string, c syscall.RawConn) error) *VMSProxy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &VMSProxy{log: log, servers: map[string]linkapi.VMSServer{}}
	v.rp = &httputil.ReverseProxy{
		Rewrite:    func(*httputil.ProxyRequest) {}, // the target is set in ServeHTTP
		Transport:  lanTransport(defaultTimeout, dialControl),
		BufferPool: bufferPool{},
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" && !locationOnDevice(loc, resp.Request.URL.Host) {
				return errRedirectAway
			}
			resp.Header.Del("Set-Cookie")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				panic(http.ErrAbortHandler) // not a silent 200: see gatewayError
			}
			if errors.Is(err, errRedirectAway) {
				problem.Write(w, r, problem.New(DeviceRedirect, "the VMS server redirected to another host"))
				return
			}
			var refused *refusedError
			if errors.As(err, &refused) {
				problem.Write(w, r, problem.New(AddressRefused, refused.Error()))
				return
			}
			problem.Write(w, r, problem.Newf(DeviceUnreachable, "the VMS server did not answer: %v", err))
		},
	}
	return v
}

// SetServers replaces the registered servers.
func (v *VMSProxy) SetServers(list []linkapi.VMSServer) {
	m := make(map[string]linkapi.VMSServer, len(list))
	for _, s := range list {
		m[s.Name] = s
	}
	v.mu.Lock()
	v.servers = m
	v.mu.Unlock()
}

// ServeHTTP serves VMSPrefix + "{name}/{path...}".
func (v *VMSProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		problem.Write(w, r, problem.Newf(problem.MethodNotAllowed, "method %s is not passed to VMS servers", r.Method))
		return
	}
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "/") || r.URL.Host != "" || r.URL.Scheme != "" {
		problem.Write(w, r, problem.New(PathRefused, "the request target must be a path"))
		return
	}
	// Taken from the escaped form, as for devices (parseTarget).
	rest, _ := strings.CutPrefix(r.URL.EscapedPath(), VMSPrefix)
	name, sub, _ := strings.Cut(rest, "/")
	v.mu.Lock()
	srv, ok := v.servers[name]
	v.mu.Unlock()
	if !ok || !validAddr(srv.Address) {
		problem.Write(w, r, problem.New(DeviceUnknown, "no such VMS server registered for this edge host"))
		return
	}
	sub, err := linkapi.CheckSubPath(sub)
	if err != nil {
		problem.Write(w, r, problem.New(PathRefused, err.Error()))
		return
	}
	out := r.Clone(r.Context())
	out.URL = &url.URL{Scheme: "http", Host: srv.Address, Path: "/" + sub, RawQuery: r.URL.RawQuery}
	if srv.HTTPS {
		out.URL.Scheme = "https"
	}
	out.Host = srv.Address
	for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Forwarded", "X-Real-Ip", linkapi.RoleHeader} {
		out.Header.Del(h)
	}
	for k := range out.Header {
		if strings.HasPrefix(k, "X-Forwarded-") {
			out.Header.Del(k)
		}
	}
	if auth := out.Header.Get(VMSAuthorizationHeader); auth != "" {
		out.Header.Set("Authorization", auth)
		out.Header.Del(VMSAuthorizationHeader)
	}
	v.rp.ServeHTTP(w, out)
}
