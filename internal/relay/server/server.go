// Package server runs the relay: it opens the state in the data directory, creates the CA
// and server certificate on first start, bootstraps the first admin, and serves the API
// (package api) over HTTPS until its context ends.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/audit"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
	"github.com/opencamcloud/camcloud/internal/relay/modelcatalog"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/relay/taskmgr"
	"github.com/opencamcloud/camcloud/internal/seal"
	"github.com/opencamcloud/camcloud/web"
)

// DBFile is the database's name inside the data directory.
const DBFile = "relay.db"

// tokenSweepEvery is how often expired tokens are deleted. Expiry is enforced on every
// lookup; the sweep only keeps the database small.
const tokenSweepEvery = time.Hour

// Server is a relay. New validates; Run does everything else.
type Server struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	ready  chan struct{} // closed by Run once serving; one closer: Run
	mu     sync.Mutex
	store  *store.Store
	ca     *pki.CA
	scheme string
	serve  atomic.Bool
}

// New validates cfg. It starts nothing and touches no file.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("relay configuration: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Server{cfg: cfg, log: log.With("component", "relay"), now: now, ready: make(chan struct{})}, nil
}

// Ready is closed once Run serves requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Store is the open store; valid after Ready until Run returns. The enrollment and link
// code uses it through this accessor.
func (s *Server) Store() *store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store
}

// CA is the relay's certificate authority; valid after Ready.
func (s *Server) CA() *pki.CA {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ca
}

// openStore opens the database with the key that seals two-step verification secrets,
// making the key on first start. A key that does not open the stored secrets stops the
// relay with what to do, rather than letting those users fail at each sign-in.
func (s *Server) openStore() (*store.Store, error) {
	keyPath, dbPath := s.cfg.secretsKey(), filepath.Join(s.cfg.DataDir, DBFile)
	box, created, err := seal.OpenBox(keyPath)
	if err != nil {
		return nil, fmt.Errorf("the key that seals two-step verification secrets: %w", err)
	}
	st, err := store.Open(dbPath, store.Options{Now: s.now, Seal: box})
	switch {
	case err == nil:
		if created {
			s.log.Info("created the key that seals two-step verification secrets; back it up with the data directory", "key", keyPath)
		}
		return st, nil
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("data directory %s is in use by another relay (its database is locked): %w", s.cfg.DataDir, err)
	case errors.Is(err, store.ErrSealKey) && created:
		// The key was missing, not new: do not leave a wrong one in its place.
		_ = os.Remove(keyPath)
		return nil, fmt.Errorf("the key file %s is missing, but %s holds two-step verification secrets sealed with it: "+
			"restore the key file from the backup of the data directory (or turn those users' two-step verification off "+
			"with `relay admin reset-two-factor`): %w", keyPath, dbPath, err)
	case errors.Is(err, store.ErrSealKey):
		return nil, fmt.Errorf("the key file %s is not the one the two-step verification secrets in %s were sealed with: "+
			"restore this data directory's key file from its backup (or turn those users' two-step verification off "+
			"with `relay admin reset-two-factor`): %w", keyPath, dbPath, err)
	default:
		return nil, err
	}
}

// Run opens the state, bootstraps it on first start and serves on ln until ctx ends,
// then shuts down gracefully. It closes ln. It returns nil on a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) (err error) {
	defer ln.Close()
	if s.cfg.InsecureHTTP {
		if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
			return fmt.Errorf("listener %s: %w", ln.Addr(), ErrInsecureNotLoopback)
		}
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := s.openStore()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	hasher := auth.NewHasher(s.cfg.PasswordParams, 0)
	if err := s.bootstrap(ctx, st, hasher); err != nil {
		return err
	}
	// Links do not survive a restart; a crash may have left agents marked connected.
	if err := st.MarkAllAgentsDisconnected(ctx); err != nil {
		return err
	}
	ca, created, err := pki.LoadOrCreateCA(s.cfg.DataDir, s.now())
	if err != nil {
		return err
	}
	if created {
		s.log.Info("created the relay CA; clients trust this file", "ca", filepath.Join(s.cfg.DataDir, pki.CAFile))
	}
	tlsConf, err := s.tlsConfig(ca, ln)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.store, s.ca = st, ca
	s.mu.Unlock()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	models, err := modelcatalog.Load(s.cfg.Catalog)
	if err != nil {
		return err
	}
	cat, err := releasefiles.Open(s.cfg.DataDir, st)
	if err != nil {
		return err
	}
	// The agent links wake the task manager and ask it for profile enforcement, and the
	// task manager reaches agents over the links: the wake-ups and the enforcement are
	// made first, so that each part is whole when it is made.
	wake := taskmgr.NewWakeup()
	enforce, err := taskmgr.NewEnforcer(taskmgr.EnforcerConfig{Store: st, Releases: cat, Wakeup: wake, Logger: s.log})
	if err != nil {
		return err
	}
	links, err := newAgentLinks(context.WithoutCancel(ctx), linksConfig{Store: st, Releases: cat, Wake: wake, Enforce: enforce, Logger: s.log})
	if err != nil {
		return err
	}
	defer links.close()
	mgr, err := taskmgr.New(taskmgr.Config{Store: st, Agents: links.relay.Transport(), Wakeup: wake, Logger: s.log, Now: s.now})
	if err != nil {
		return err
	}
	auditLog := audit.New(st, s.log)
	ice, err := s.startTURN(tlsConf, reg)
	if err != nil {
		return err
	}
	var iceProvider api.ICEProvider
	if ice != nil {
		defer ice.close()
		iceProvider = ice
	}
	a, err := api.New(api.Config{
		AgentLink: links.handler(), Agents: links.relay.Transport(), Links: links, Catalog: models, Releases: cat, Tasks: mgr, Audit: auditLog,
		Store: st, CA: ca, Hasher: hasher, Logger: s.cfg.Logger, Registry: reg, Ready: s.serve.Load,
		UserTokenTTL: s.cfg.UserTokenTTL, ClientTokenTTL: s.cfg.ClientTokenTTL, BodyTimeout: s.cfg.BodyTimeout, ICE: iceProvider,
	})
	if err != nil {
		return err
	}
	console, err := web.New()
	if err != nil {
		return err
	}
	guarded, err := guardListener(ln, s.cfg.Conns, reg)
	if err != nil {
		return err
	}
	headerTimeout := s.cfg.HeaderTimeout
	if headerTimeout == 0 {
		headerTimeout = DefaultHeaderTimeout
	}
	srv := &http.Server{
		Handler:   console.Wrap(a), // the web console at / and /ui/, the API elsewhere
		TLSConfig: tlsConf,
		// Also the TLS handshake's limit (net/http uses the shortest of its timeouts).
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(errorLog{s.log}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       connlimit.WithConn,
	}
	serveErr := make(chan error, 1)
	var wg sync.WaitGroup
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer func() { stopSweep(); wg.Wait() }()
	wg.Go(func() {
		if tlsConf != nil {
			serveErr <- srv.ServeTLS(guarded, "", "")
		} else {
			serveErr <- srv.Serve(guarded)
		}
	})
	wg.Go(func() { s.sweepTokens(sweepCtx, st) })
	wg.Go(func() { _ = mgr.Run(sweepCtx) })
	wg.Go(func() { auditLog.Run(sweepCtx) })

	s.scheme = "https"
	if tlsConf == nil {
		s.scheme = "http"
	}
	s.serve.Store(true)
	close(s.ready)
	lim := guarded.Limits()
	s.log.Info("relay serving", "url", s.scheme+"://"+ln.Addr().String(), "data", s.cfg.DataDir,
		"max_conns", lim.MaxConns, "max_anonymous_conns", lim.MaxAnonymous, "max_anonymous_conns_per_address", lim.MaxAnonymousPerAddr)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.serve.Store(false)
	s.log.Info("relay stopping")
	timeout := s.cfg.ShutdownTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	// Agent links are hijacked connections Shutdown does not wait for: end them first.
	_ = links.close()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		s.log.Warn("shutdown cut requests short", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// tlsConfig builds the server's TLS settings, or nil for plain HTTP. Client
// certificates are requested but optional: people use bearer tokens, agents present the
// certificate this CA issued them, which the link handler then requires.
func (s *Server) tlsConfig(ca *pki.CA, ln net.Listener) (*tls.Config, error) {
	if s.cfg.InsecureHTTP {
		s.log.Warn("serving plain HTTP on loopback; do not expose this relay")
		return nil, nil
	}
	var cert tls.Certificate
	var err error
	if s.cfg.TLSCert != "" {
		cert, err = tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	} else {
		hosts := append([]string{}, s.cfg.Hosts...)
		if h, _, err := net.SplitHostPort(s.cfg.listen()); err == nil {
			hosts = append(hosts, h)
		}
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
			hosts = append(hosts, tcp.IP.String())
		}
		cert, err = ca.ServerCert(s.cfg.DataDir, hosts, s.now())
	}
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool(),
	}, nil
}

func (s *Server) sweepTokens(ctx context.Context, st *store.Store) {
	t := time.NewTicker(tokenSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.DeleteExpiredTokens(ctx); err != nil {
				s.log.Warn("sweeping expired tokens", "err", err)
			} else if n > 0 {
				s.log.Debug("swept expired tokens", "count", n)
			}
		}
	}
}
