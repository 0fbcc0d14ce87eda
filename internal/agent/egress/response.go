package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// strippedResponseHeaders never reach the caller: challenges and session cookies belong
// to the agent's account on the device.
var strippedResponseHeaders = []string{"Www-Authenticate", "Proxy-Authenticate", "Authentication-Info", "Proxy-Authentication-Info", "Set-Cookie"}

// Errors of modifyResponse, turned into problems by gatewayError.
var (
	errDeviceAuth     = errors.New("egress: the device refused the agent's credentials")
	errRedirectAway   = errors.New("egress: the device redirected to another host")
	errDeviceBadRoute = errors.New("egress: no device route")
)

// modifyResponse checks a device's answer before it is passed on.
func (p *Proxy) modifyResponse(res *http.Response) error {
	for _, h := range strippedResponseHeaders {
		res.Header.Del(h)
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusProxyAuthRequired:
		return errDeviceAuth
	case res.StatusCode >= 300 && res.StatusCode < 400:
		rt := routeOf(res.Request.Context())
		if rt == nil {
			return errDeviceBadRoute
		}
		if loc := res.Header.Get("Location"); loc != "" && !locationOnDevice(loc, rt.link.target.Addr) {
			return errRedirectAway
		}
	}
	return nil
}

// locationOnDevice reports whether a redirect stays on the device: a relative reference,
// or an absolute http(s) URL naming the device's own address.
func locationOnDevice(loc, addr string) bool {
	u, err := url.Parse(loc)
	if err != nil || strings.ContainsAny(loc, "\\\x00\r\n") {
		return false
	}
	switch {
	case u.Scheme == "" && u.Host == "" && u.Opaque == "":
		return !strings.HasPrefix(loc, "//")
	case u.Scheme == "http" || u.Scheme == "https":
		return strings.EqualFold(u.Host, addr)
	}
	return false
}

// gatewayError answers what the proxy could not pass on, as a problem.
func (p *Proxy) gatewayError(w http.ResponseWriter, r *http.Request, err error) {
	log := p.log
	if rt := routeOf(r.Context()); rt != nil {
		// Never the query: CGI arguments may carry passwords.
		log = log.With("serial", rt.serial, "method", r.Method, "path", rt.path)
	}
	if r.Context().Err() != nil {
		// The caller left or the link is going down. Returning would let net/http answer
		// 200 with an empty body, which a relay still reading the stream would pass on
		// as a success: abort the answer instead, so that it reads as broken off.
		log.Debug("egress: the caller went away", "err", err)
		panic(http.ErrAbortHandler)
	}
	prob := classify(err)
	log.Warn("egress: device request failed", "status", prob.Status, "type", prob.Type, "err", err)
	problem.Write(w, r, prob)
}

// classify says what a failed device request was, in words that leak nothing.
func classify(err error) *problem.Problem {
	var op *net.OpError
	var ne net.Error
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		return problem.New(AddressRefused, refused.Error())
	case errors.Is(err, errDeviceAuth):
		return problem.New(DeviceAuthFailed, "the device refused the agent's account; the agent's device credentials need repair")
	case errors.Is(err, errRedirectAway):
		return problem.New(DeviceRedirect, "the device answered with a redirect to another host, which is not followed")
	case errors.As(err, &op) && op.Op == "dial":
		return problem.New(DeviceUnreachable, "the device did not accept a connection")
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return problem.New(DeviceTimeout, "the device did not answer in time")
	}
	return problem.New(DeviceUnreachable, "the connection to the device failed before it answered")
}
