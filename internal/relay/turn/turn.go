// Package turn is the relay's TURN server (RFC 8656, with TCP allocations of RFC 6062)
// for WebRTC sessions that cannot reach a camera's agent directly: over UDP, TCP and
// TLS, authenticated with short-lived credentials of the TURN REST API scheme.
//
// A credential is a username "<expiry-unix>:<organization>" and the password
// base64(HMAC-SHA1(secret, username)) under a secret the relay shares with its TURN
// servers; the API hands them out (GET /api/v1/orgs/{org}/ice-servers). This is coturn's
// use-auth-secret / static-auth-secret scheme, so an operator can run coturn with the
// same secret instead of this server and nothing else changes.
//
// Allocations are bounded per organization and counted in Prometheus metrics
// (relay_turn_*); peers are restricted to public unicast addresses (see peers.go for
// why).
//
// The server is github.com/pion/turn/v5, not the v4 once planned: pion/webrtc/v4, which
// the agent and relay already use, depends on turn/v5, and one TURN implementation in
// the binary is smaller and means one set of fixes to follow.
package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/logging"
	pturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Config's zero values.
const (
	DefaultRealm        = "camcloud"
	DefaultMaxPerOrg    = 100
	DefaultMinRelayPort = 49152
	DefaultMaxRelayPort = 65535
	DefaultPort         = 3478
	DefaultTLSPort      = 5349
	defaultCloseWait    = 5 * time.Second
)

// Config configures a Server. At least one of the listen addresses is required.
type Config struct {
	// Secret is the shared secret of the REST API credentials. Required.
	Secret string
	// Realm is the TURN realm; empty: DefaultRealm.
	Realm string
	// UDPListen, TCPListen and TLSListen are the addresses to serve TURN on; empty
	// disables that transport. TLSListen needs TLSConfig.
	UDPListen, TCPListen, TLSListen string
	// TLSConfig holds the certificate for TURN over TLS.
	TLSConfig *tls.Config
	// PublicIP is the address put in relayed candidates: the one peers and clients
	// reach the relay on (the public address behind a 1:1 NAT, say). Required.
	PublicIP net.IP
	// RelayBind is the local address relay sockets bind to; empty: 0.0.0.0, or PublicIP
	// when that is a loopback address.
	RelayBind string
	// MinRelayPort and MaxRelayPort bound the relay sockets' ports (the range to open in
	// a firewall); zero: DefaultMinRelayPort..DefaultMaxRelayPort.
	MinRelayPort, MaxRelayPort uint16
	// MaxPerOrg bounds the allocations one organization holds at once; 0:
	// DefaultMaxPerOrg.
	MaxPerOrg int
	// AllowPeers are peer ranges relayed to even though they are private, loopback or
	// the relay's own (tests: 127.0.0.1/32; a private deployment: its LAN).
	AllowPeers []netip.Prefix
	// Registerer receives the relay_turn_* metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock credentials are checked against; nil: time.Now.
	Now func() time.Time
}

// Server is a running TURN server. Close stops it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	peers   *peerPolicy
	relay   *relayAddrs
	pion    *pturn.Server

	udp      net.PacketConn
	tcp, tls *connTracker

	mu     sync.Mutex
	perOrg map[string]int

	closeOnce sync.Once
	closeErr  error
}

// New opens the listeners and serves until Close.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.MaxPerOrg == 0 {
		cfg.MaxPerOrg = DefaultMaxPerOrg
	}
	if cfg.MinRelayPort == 0 && cfg.MaxRelayPort == 0 {
		cfg.MinRelayPort, cfg.MaxRelayPort = DefaultMinRelayPort, DefaultMaxRelayPort
	}
	if cfg.RelayBind == "" {
		cfg.RelayBind = "0.0.0.0"
		if cfg.PublicIP.IsLoopback() {
			cfg.RelayBind = cfg.PublicIP.String()
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "turn"), now: cfg.Now, perOrg: map[string]int{}}
	if s.now == nil {
		s.now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.peers = newPeerPolicy(cfg.AllowPeers, ownAddresses(cfg.PublicIP))
	s.relay = &relayAddrs{
		RelayAddressGeneratorPortRange: pturn.RelayAddressGeneratorPortRange{
			RelayAddress: cfg.PublicIP, Address: cfg.RelayBind, MinPort: cfg.MinRelayPort, MaxPort: cfg.MaxRelayPort,
			MaxRetries: 32,
		},
		peers: s.peers, metrics: m,
	}
	if err := s.listen(); err != nil {
		s.closeListeners()
		return nil, err
	}
	permit := func(_ net.Addr, peer net.IP) bool {
		if s.peers.permit(peer) {
			return true
		}
		s.metrics.peerRefused.Inc()
		return false
	}
	sc := pturn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.admit,
		LoggerFactory: slogFactory{s.log},
		EventHandler: pturn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onCreated,
			OnAllocationDeleted: s.onDeleted,
		},
	}
	if s.udp != nil {
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, pturn.PacketConnConfig{
			PacketConn: s.udp, RelayAddressGenerator: s.relay, PermissionHandler: permit,
		})
	}
	for _, l := range []*connTracker{s.tcp, s.tls} {
		if l != nil {
			sc.ListenerConfigs = append(sc.ListenerConfigs, pturn.ListenerConfig{
				Listener: l, RelayAddressGenerator: s.relay, PermissionHandler: permit,
			})
		}
	}
	s.pion, err = pturn.NewServer(sc)
	if err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

func (c *Config) validate() error {
	var errs []error
	if c.Secret == "" {
		errs = append(errs, errors.New("turn: a shared secret is required"))
	}
	if c.UDPListen == "" && c.TCPListen == "" && c.TLSListen == "" {
		errs = append(errs, errors.New("turn: no listen address (UDP, TCP or TLS)"))
	}
	if c.TLSListen != "" && (c.TLSConfig == nil || (len(c.TLSConfig.Certificates) == 0 && c.TLSConfig.GetCertificate == nil)) {
		errs = append(errs, errors.New("turn: TURN over TLS needs a certificate"))
	}
	if c.PublicIP == nil || c.PublicIP.IsUnspecified() {
		errs = append(errs, errors.New("turn: the public IP address (put in relayed candidates) is required"))
	}
	if c.MaxPerOrg < 0 {
		errs = append(errs, errors.New("turn: allocations per organization is negative"))
	}
	if (c.MinRelayPort == 0) != (c.MaxRelayPort == 0) || c.MinRelayPort > c.MaxRelayPort {
		errs = append(errs, fmt.Errorf("turn: relay port range %d-%d is not a range", c.MinRelayPort, c.MaxRelayPort))
	}
	return errors.Join(errs...)
}

func (s *Server) listen() error {
	if a := s.cfg.UDPListen; a != "" {
		pc, err := net.ListenPacket("udp", a)
		if err != nil {
			return fmt.Errorf("turn: listen UDP: %w", err)
		}
		s.udp = pc
	}
	if a := s.cfg.TCPListen; a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("turn: listen TCP: %w", err)
		}
		s.tcp = newConnTracker(ln, nil)
	}
	if a := s.cfg.TLSListen; a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("turn: listen TLS: %w", err)
		}
		conf := s.cfg.TLSConfig.Clone()
		if conf.MinVersion < tls.VersionTLS12 {
			conf.MinVersion = tls.VersionTLS12
		}
		s.tls = newConnTracker(ln, conf)
	}
	return nil
}

// UDPAddr, TCPAddr and TLSAddr are the listeners' addresses; nil when not served.
func (s *Server) UDPAddr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// TCPAddr is the TURN over TCP listener's address, or nil.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// TLSAddr is the TURN over TLS listener's address, or nil.
func (s *Server) TLSAddr() net.Addr {
	if s.tls == nil {
		return nil
	}
	return s.tls.Addr()
}

// Realm is the realm the server answers with.
func (s *Server) Realm() string { return s.cfg.Realm }

// Allocations is the number of allocations open.
func (s *Server) Allocations() int { return s.pion.AllocationCount() }

// Close stops accepting, ends every client connection and allocation, and waits (a few
// seconds at most) for the relay sockets to be closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		idle := s.relay.drain()
		err := s.pion.Close() // closes the UDP socket and the listeners
		for _, l := range []*connTracker{s.tcp, s.tls} {
			if l != nil {
				l.closeAll()
			}
		}
		select {
		case <-idle:
		case <-time.After(defaultCloseWait):
			s.log.Warn("TURN relay sockets still open after close")
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("turn: close: %w", err)
		}
	})
	return s.closeErr
}

// closeListeners undoes listen when New fails.
func (s *Server) closeListeners() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	for _, l := range []*connTracker{s.tcp, s.tls} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// authenticate checks a REST API username and returns the key its password makes. The
// password itself is checked by the library through the message integrity; a wrong one
// shows up in onAuth.
func (s *Server) authenticate(ra *pturn.RequestAttributes) (string, []byte, bool) {
	expires, org, err := parseUsername(ra.Username)
	if err != nil {
		s.metrics.authFailures.WithLabelValues(reasonMalformed).Inc()
		return "", nil, false
	}
	if !s.now().Before(expires) {
		s.metrics.authFailures.WithLabelValues(reasonExpired).Inc()
		return "", nil, false
	}
	return org, pturn.GenerateAuthKey(ra.Username, ra.Realm, password(s.cfg.Secret, ra.Username)), true
}

func (s *Server) onAuth(_, _ net.Addr, _, _, _, _ string, verdict bool) {
	if !verdict {
		s.metrics.authFailures.WithLabelValues(reasonSignature).Inc()
	}
}

// admit is asked before each allocation. Requests on one UDP socket are handled one at
// a time, so there the bound is exact; TCP connections are handled in parallel and may
// pass it by the few allocations being made at that very moment.
func (s *Server) admit(org, _ string, _ net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perOrg[org] >= s.cfg.MaxPerOrg {
		s.metrics.quotaRefused.Inc()
		return false
	}
	return true
}

func (s *Server) onCreated(_, _ net.Addr, _, org, _ string, _ net.Addr, _ int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perOrg[org]++
	s.metrics.allocations.WithLabelValues(org).Set(float64(s.perOrg[org]))
	s.metrics.created.Inc()
}

func (s *Server) onDeleted(_, _ net.Addr, _, org, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.perOrg[org] - 1
	if n <= 0 {
		delete(s.perOrg, org)
		s.metrics.allocations.DeleteLabelValues(org)
		return
	}
	s.perOrg[org] = n
	s.metrics.allocations.WithLabelValues(org).Set(float64(n))
}

// connTracker is a TURN over TCP or TLS listener that remembers its connections, which
// the library does not close when it stops, so that Close can end them.
type connTracker struct {
	net.Listener
	tls   *tls.Config
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	done  bool
}

func newConnTracker(ln net.Listener, conf *tls.Config) *connTracker {
	return &connTracker{Listener: ln, tls: conf, conns: map[*trackedConn]struct{}{}}
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	if l.tls != nil {
		// The library finishes the handshake (within its own 10 s) before reading.
		return tls.Server(tc, l.tls), nil
	}
	return tc, nil
}

func (l *connTracker) closeAll() {
	l.mu.Lock()
	l.done = true
	conns := l.conns
	l.conns = map[*trackedConn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

func (l *connTracker) forget(c *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

// trackedConn leaves its tracker's set when closed.
type trackedConn struct {
	net.Conn
	l    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.forget(c) })
	return err
}

// slogFactory carries the library's messages to the relay's log at debug level: it
// reports each failed handshake or malformed datagram as an error, and at warning level
// anyone could fill the log; the metrics count what matters.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.log.With("scope", scope)}
}

type slogLogger struct{ log *slog.Logger }

// logf formats only when debug logging is on: the library logs every relayed packet,
// and formatting its addresses would cost more than relaying it.
func (l slogLogger) logf(format string, a ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, a...))
	}
}

func (l slogLogger) Trace(string)                   {}
func (l slogLogger) Tracef(string, ...any)          {}
func (l slogLogger) Debug(msg string)               { l.log.Debug(msg) }
func (l slogLogger) Debugf(format string, a ...any) { l.logf(format, a...) }
func (l slogLogger) Info(msg string)                { l.log.Debug(msg) }
func (l slogLogger) Infof(format string, a ...any)  { l.logf(format, a...) }
func (l slogLogger) Warn(msg string)                { l.log.Debug(msg) }
func (l slogLogger) Warnf(format string, a ...any)  { l.logf(format, a...) }
func (l slogLogger) Error(msg string)               { l.log.Debug(msg) }
func (l slogLogger) Errorf(format string, a ...any) { l.logf(format, a...) }

// URLs are the ICE server URLs for a relay reached at host: turn: over UDP and TCP,
// turns: over TLS, for the transports s serves, with their ports.
func (s *Server) URLs(host string) []string {
	var urls []string
	if a := s.UDPAddr(); a != nil {
		urls = append(urls, "turn:"+hostPort(host, a)+"?transport=udp")
	}
	if a := s.TCPAddr(); a != nil {
		urls = append(urls, "turn:"+hostPort(host, a)+"?transport=tcp")
	}
	if a := s.TLSAddr(); a != nil {
		urls = append(urls, "turns:"+hostPort(host, a)+"?transport=tcp")
	}
	return urls
}

// STUNURL is a stun: URL for the UDP listener (which also answers STUN binding
// requests without credentials), or "" without one.
func (s *Server) STUNURL(host string) string {
	if a := s.UDPAddr(); a != nil {
		return "stun:" + hostPort(host, a)
	}
	return ""
}

func hostPort(host string, a net.Addr) string {
	port := 0
	switch a := a.(type) {
	case *net.UDPAddr:
		port = a.Port
	case *net.TCPAddr:
		port = a.Port
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
