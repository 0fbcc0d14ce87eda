package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// This file asks a device who it is: basicdeviceinfo.cgi getAllUnrestrictedProperties,
// which an Axis device answers without credentials (vapix.md section 3). The same call
// enriches a device found over mDNS, checks whether a device not heard of lately is still
// there, and decides whether an address given by hand or found by a scan is an Axis device.

var (
	// ErrNotAxis: something answers at the address, but not as an Axis device does.
	ErrNotAxis = errors.New("not an Axis device")
	// ErrNoAnswer: nothing answers at the address (refused, timed out, unreachable).
	ErrNoAnswer = errors.New("no device answers")
	// ErrRefused: Config.DialControl refused the connection to the address.
	ErrRefused = errors.New("address refused")
)

// newTransport is the HTTP transport of one watcher's probes. Probes to one device are
// minutes apart, so connections are not kept.
func newTransport(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *http.Transport {
	d := &net.Dialer{Timeout: timeout}
	if control != nil {
		d.Control = func(network, address string, c syscall.RawConn) error {
			if err := control(network, address, c); err != nil {
				return fmt.Errorf("%w: %w", ErrRefused, err)
			}
			return nil
		}
	}
	return &http.Transport{
		Proxy:                  nil, // devices are on the local network
		DialContext:            d.DialContext,
		DisableKeepAlives:      true,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// probe reads the unrestricted device facts at addr (host:port) and returns the device's
// serial number with them. want, when not empty, is the serial the caller expects there.
// Errors wrap ErrNoAnswer or ErrNotAxis (or the context's error) and leave out addr,
// which callers put in front.
func (w *Watcher) probe(ctx context.Context, addr, want string) (string, vapix.DeviceInfo, error) {
	c, err := vapix.New(vapix.Config{BaseURL: "http://" + addr, Transport: w.transport, Timeout: w.cfg.ProbeTimeout})
	if err != nil {
		return "", vapix.DeviceInfo{}, fmt.Errorf("%w: %w", ErrNotAxis, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, w.cfg.ProbeTimeout)
	defer cancel()
	info, err := c.UnrestrictedDeviceInfo(callCtx)
	var op *net.OpError
	switch {
	case err != nil && ctx.Err() != nil:
		return "", info, fmt.Errorf("probe: %w", context.Cause(ctx))
	case err != nil && errors.Is(err, ErrRefused) && errors.As(err, &op):
		return "", info, op.Err // ErrRefused and why, without the URL around it
	case err != nil && (errors.Is(err, vapix.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)):
		return "", info, fmt.Errorf("%w: %w", ErrNoAnswer, err)
	case err != nil:
		return "", info, fmt.Errorf("%w: %s", ErrNotAxis, notAxis(err))
	}
	serial := normalizeSerial(info.SerialNumber)
	if serial == "" {
		return "", info, fmt.Errorf("%w: basicdeviceinfo.cgi reports a serial number that is not 12 hex digits", ErrNotAxis)
	}
	if want != "" && serial != want {
		return "", info, fmt.Errorf("another device answers: serial number %s, not %s", serial, want)
	}
	return serial, info, nil
}

// notAxis says how an answer was not an Axis device's, without a word of the answer
// itself: whoever asked for the probe may have named a server that is not theirs to read
// (a metadata service, another host's API), and the probe must not become a way to read
// it.
func notAxis(err error) string {
	var he *vapix.HTTPError
	var ve *vapix.Error
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("basicdeviceinfo.cgi answered HTTP %d", he.Status)
	case errors.Is(err, vapix.ErrUnauthorized), errors.Is(err, vapix.ErrForbidden):
		return "basicdeviceinfo.cgi asked for credentials, which an Axis device does not for these facts"
	case errors.Is(err, vapix.ErrNotFound):
		return "no basicdeviceinfo.cgi (HTTP 404)"
	case errors.As(err, &ve):
		return fmt.Sprintf("basicdeviceinfo.cgi answered error %d", ve.Code)
	}
	return "the answer is not a basicdeviceinfo.cgi reply"
}

// normalizeAddr turns what a user typed (host, host:port, http://host:port/) into
// host:port, port 80 when none is given.
func normalizeAddr(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "http://") {
		s = s[7:]
	} else if strings.Contains(s, "://") {
		return "", fmt.Errorf("address %q: only http:// is probed", truncate(in, 80))
	}
	s = strings.TrimSuffix(s, "/")
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a host name, an IPv4 address, or an IPv6 address with or without brackets.
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "80"
	}
	if host == "" || strings.ContainsAny(host, "/?#@[] \t\r\n%") || !validHost(host) {
		return "", fmt.Errorf("address %q: want host or host:port", truncate(in, 80))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", fmt.Errorf("address %q: bad port", truncate(in, 80))
	}
	return net.JoinHostPort(host, port), nil
}

// validHost accepts IP addresses and DNS names.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
