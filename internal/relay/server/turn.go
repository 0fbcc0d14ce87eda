package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/turn"
)

// TURNSecretFile is the shared TURN secret's default name inside the data directory.
const TURNSecretFile = "turn-secret"

// DefaultTURNTTL is TURNConfig.TTL's default.
const DefaultTURNTTL = time.Hour

// TURNConfig turns on the built-in TURN server (package turn). It is on when any of
// the listen addresses is set.
//
// TURN over TLS has a port of its own rather than sharing the HTTPS listener: net/http
// does the TLS handshake inside its own connection handling, after the listener
// (package connlimit) has admitted the connection as anonymous, and it needs the
// *tls.Conn itself for HTTP/2 and for agents' client certificates. Telling TURN from
// HTTP after the handshake would move the handshake into the listener and hand TURN's
// long-lived connections to a limiter that sheds anonymous connections, oldest first.
// An operator whose clients can only reach 443 serves --turn-tls-listen on port 443 of
// a second address.
type TURNConfig struct {
	// UDPListen, TCPListen and TLSListen are TURN's addresses; empty: that transport
	// is off. TLS uses the relay's server certificate, so it needs HTTPS.
	UDPListen, TCPListen, TLSListen string
	// SecretFile holds the shared secret of the REST API credentials; empty:
	// DATA/turn-secret. Created (0600) with a random secret if missing. Give coturn the
	// same secret to replace the built-in server.
	SecretFile string
	// PublicIP is the address put in relayed candidates. Required unless every TURN
	// address is a loopback one (then 127.0.0.1).
	PublicIP string
	// Host is the name in the ice-servers URLs; empty: the first --host, else PublicIP.
	Host string
	// Realm is the TURN realm; empty: turn.DefaultRealm.
	Realm string
	// TTL is how long a credential from ice-servers is valid; 0: DefaultTURNTTL.
	TTL time.Duration
	// MaxPerOrg bounds each organization's allocations; 0: turn.DefaultMaxPerOrg.
	MaxPerOrg int
	// RelayPorts is the relay sockets' port range "MIN-MAX"; empty: 49152-65535.
	RelayPorts string
	// AllowPeers are address ranges relayed to although private or loopback (a LAN
	// whose cameras' agents are reached through TURN). Loopback-only TURN allows
	// loopback peers by itself.
	AllowPeers []string
	// URLs are the stun:, turn: and turns: URLs handed out instead of the built-in
	// server's: a coturn (or several) sharing the secret. They work with or without the
	// built-in server.
	URLs []string
}

// Enabled reports whether any TURN listener is configured.
func (c *TURNConfig) Enabled() bool {
	return c.UDPListen != "" || c.TCPListen != "" || c.TLSListen != ""
}

// loopbackOnly reports whether TURN listens on loopback addresses only: reachable from
// this machine alone, where relaying to loopback reaches nothing a local user could
// not reach directly.
func (c *TURNConfig) loopbackOnly() bool {
	for _, a := range []string{c.UDPListen, c.TCPListen, c.TLSListen} {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil || !isLoopback(host) {
			return false
		}
	}
	return true
}

func (c *TURNConfig) publicIP() net.IP {
	if c.PublicIP != "" {
		return net.ParseIP(c.PublicIP)
	}
	if c.loopbackOnly() {
		return net.IPv4(127, 0, 0, 1)
	}
	return nil
}

func (c *TURNConfig) relayPorts() (uint16, uint16, error) {
	if c.RelayPorts == "" {
		return 0, 0, nil
	}
	lo, hi, ok := strings.Cut(c.RelayPorts, "-")
	var first, last uint16
	if ok {
		_, err1 := fmt.Sscan(lo, &first)
		_, err2 := fmt.Sscan(hi, &last)
		ok = err1 == nil && err2 == nil && first > 0 && first <= last
	}
	if !ok {
		return 0, 0, fmt.Errorf("--turn-relay-ports %q: want MIN-MAX, such as 49152-65535", c.RelayPorts)
	}
	return first, last, nil
}

func (c *TURNConfig) allowPeers() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range c.AllowPeers {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				return nil, fmt.Errorf("--turn-allow-peer %q: want an address or CIDR range", a)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	if c.loopbackOnly() {
		out = append(out, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	}
	return out, nil
}

// validate checks the TURN settings (only when TURN is on).
func (c *TURNConfig) validate(insecure bool) []error {
	if !c.Enabled() && len(c.URLs) == 0 {
		return nil
	}
	var errs []error
	for name, a := range map[string]string{"--turn-udp-listen": c.UDPListen, "--turn-tcp-listen": c.TCPListen, "--turn-tls-listen": c.TLSListen} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, a, err))
		}
	}
	if c.TLSListen != "" && insecure {
		errs = append(errs, errors.New("--turn-tls-listen needs the relay's certificate: it excludes --insecure-http"))
	}
	if c.PublicIP != "" {
		if ip := net.ParseIP(c.PublicIP); ip == nil || ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("--turn-public-ip %q is not an IP address", c.PublicIP))
		}
	} else if c.Enabled() && c.publicIP() == nil {
		errs = append(errs, errors.New("--turn-public-ip is required when TURN listens on an address other than loopback: it is the address put in relayed candidates"))
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			errs = append(errs, fmt.Errorf("--turn-url %q: want a stun:, turn: or turns: URL", u))
		}
	}
	if c.TTL < 0 {
		errs = append(errs, errors.New("--turn-ttl is negative"))
	}
	if c.MaxPerOrg < 0 {
		errs = append(errs, errors.New("--turn-max-allocations is negative"))
	}
	if _, _, err := c.relayPorts(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.allowPeers(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// loadOrCreateTURNSecret reads the shared secret, creating the file (0600) with a
// random one on first start.
func loadOrCreateTURNSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		secret := strings.TrimSpace(string(b))
		if secret == "" {
			return "", fmt.Errorf("TURN secret file %s is empty", path)
		}
		return secret, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("TURN secret: %w", err)
	}
	secret := turn.NewSecret()
	if err := atomicfile.Write(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("TURN secret: %w", err)
	}
	return secret, nil
}

// startTURN starts the TURN server and returns what hands out its credentials (or
// those of the --turn-url servers); nil, nil when TURN is off.
func (s *Server) startTURN(tlsConf *tls.Config, reg prometheus.Registerer) (*turnICE, error) {
	c := &s.cfg.TURN
	if !c.Enabled() && len(c.URLs) == 0 {
		return nil, nil
	}
	path := c.SecretFile
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, TURNSecretFile)
	}
	secret, err := loadOrCreateTURNSecret(path)
	if err != nil {
		return nil, err
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTURNTTL
	}
	ice := &turnICE{secret: secret, ttl: ttl, now: s.now}
	for _, u := range c.URLs {
		if strings.HasPrefix(u, "stun:") {
			ice.stun = append(ice.stun, u)
		} else {
			ice.turn = append(ice.turn, u)
		}
	}
	if !c.Enabled() {
		s.log.Info("TURN credentials for other servers", "urls", c.URLs, "secret", path)
		return ice, nil
	}
	lo, hi, _ := c.relayPorts() // validated
	allow, _ := c.allowPeers()  // validated
	var turnTLS *tls.Config
	if c.TLSListen != "" && tlsConf != nil {
		turnTLS = &tls.Config{Certificates: tlsConf.Certificates, MinVersion: tls.VersionTLS12}
	}
	ts, err := turn.New(turn.Config{
		Secret: secret, Realm: c.Realm, UDPListen: c.UDPListen, TCPListen: c.TCPListen, TLSListen: c.TLSListen,
		TLSConfig: turnTLS, PublicIP: c.publicIP(), MinRelayPort: lo, MaxRelayPort: hi, MaxPerOrg: c.MaxPerOrg,
		AllowPeers: allow, Registerer: reg, Logger: s.log, Now: s.now,
	})
	if err != nil {
		return nil, err
	}
	host := c.Host
	if host == "" && len(s.cfg.Hosts) > 0 {
		host = s.cfg.Hosts[0]
	}
	if host == "" {
		host = c.publicIP().String()
	}
	ice.srv = ts
	if len(c.URLs) == 0 {
		if u := ts.STUNURL(host); u != "" {
			ice.stun = []string{u}
		}
		ice.turn = ts.URLs(host)
	}
	s.log.Info("TURN serving", "udp", addrString(ts.UDPAddr()), "tcp", addrString(ts.TCPAddr()), "tls", addrString(ts.TLSAddr()),
		"public_ip", c.publicIP(), "secret", path)
	return ice, nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// turnICE hands out TURN URLs (the built-in server's, or --turn-url) with fresh
// credentials.
type turnICE struct {
	srv        *turn.Server // the built-in server; nil when only --turn-url is served
	stun, turn []string
	secret     string
	ttl        time.Duration
	now        func() time.Time
}

func (t *turnICE) close() {
	if t.srv != nil {
		_ = t.srv.Close()
	}
}

func (t *turnICE) ICEServers(org string) api.ICEServers {
	var out []api.ICEServer
	if len(t.stun) > 0 {
		out = append(out, api.ICEServer{URLs: t.stun})
	}
	if len(t.turn) == 0 {
		return api.ICEServers{ICEServers: out}
	}
	cred := turn.NewCredential(t.secret, org, t.now().Add(t.ttl))
	out = append(out, api.ICEServer{URLs: t.turn, Username: cred.Username, Credential: cred.Password})
	return api.ICEServers{ICEServers: out, ExpiresAt: &cred.ExpiresAt}
}
