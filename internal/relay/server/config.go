package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/seal"
)

// DefaultListen is the address relay serve listens on when none is given.
const DefaultListen = "127.0.0.1:8443"

// Config is everything the relay needs to run. The cmd layer fills it from flags,
// environment and config file; this package never reads either.
type Config struct {
	// DataDir holds the database, the CA and the server certificate. Required.
	DataDir string
	// SecretsKey is the key file that seals the users' two-step verification secrets
	// (package seal); empty means SecretsKeyFile in DataDir. Made (0600) when missing;
	// one that group or others may access is refused.
	SecretsKey string
	// Listen is the address to serve on; empty means DefaultListen. Its host goes into
	// the server certificate, and with InsecureHTTP it must be a loopback address.
	Listen string
	// Hosts are extra names or addresses for the generated server certificate (the
	// public name of the relay, say). localhost, 127.0.0.1 and ::1 are always in it.
	Hosts []string
	// TLSCert and TLSKey name a certificate and key to serve instead of the generated
	// one. Both or neither.
	TLSCert, TLSKey string
	// InsecureHTTP serves plain HTTP; allowed only on a loopback address.
	InsecureHTTP bool

	// AdminEmail is the first admin's login, created on first start; empty means
	// admin@localhost.
	AdminEmail string
	// AdminPassword is the first admin's password. Empty: one is generated and written
	// once to Stderr.
	AdminPassword string
	// Stderr receives the one-time generated password; nil discards it (tests only).
	Stderr io.Writer
	// Catalog is a model catalog file (see package catalog); empty: the built-in one.
	Catalog string
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock for tokens and expiries; nil means time.Now.
	Now func() time.Time
	// PasswordParams are the argon2id costs; zero means auth.DefaultParams.
	PasswordParams auth.Params

	UserTokenTTL   time.Duration // 0: 12h
	ClientTokenTTL time.Duration // 0: 1h
	// ShutdownTimeout bounds the wait for requests in flight at shutdown; 0 means 10s.
	ShutdownTimeout time.Duration

	// HeaderTimeout bounds the TLS handshake and the reading of a request's headers;
	// 0 means DefaultHeaderTimeout.
	HeaderTimeout time.Duration
	// BodyTimeout is how long the relay waits for each 16 KiB of a request body (or its
	// end); 0 means api.DefaultBodyTimeout.
	BodyTimeout time.Duration
	// Conns bounds the connections held open (package connlimit); zero fields take its
	// defaults: all connections within the file descriptor limit less a reserve,
	// anonymous ones (no request proved who is on them yet) per source address and in
	// total, the oldest anonymous one closed to make room.
	Conns connlimit.Config
	// TURN configures the built-in TURN server; off unless a TURN address is given.
	TURN TURNConfig
}

// DefaultHeaderTimeout is Config.HeaderTimeout's default.
const DefaultHeaderTimeout = 10 * time.Second

// ErrInsecureNotLoopback: plain HTTP was asked for on an address reachable from
// elsewhere.
var ErrInsecureNotLoopback = errors.New("plain HTTP (--insecure-http) is only allowed on a loopback address such as 127.0.0.1 or localhost; serve HTTPS on other addresses")

// Validate checks the configuration and reports every bad field at once.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory (--data) is required"))
	}
	listen := c.listen()
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", listen, err))
	} else if c.InsecureHTTP && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("listen address %q: %w", listen, ErrInsecureNotLoopback))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.TLSCert != "" && c.InsecureHTTP {
		errs = append(errs, errors.New("--tls-cert and --insecure-http exclude each other"))
	}
	if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			errs = append(errs, fmt.Errorf("--tls-cert/--tls-key: %w", err))
		}
	}
	if err := ident.CheckEmail(c.adminEmail()); err != nil {
		errs = append(errs, fmt.Errorf("admin e-mail %q: %w", c.adminEmail(), err))
	}
	if c.AdminPassword != "" {
		if err := auth.CheckPolicy(c.AdminPassword); err != nil {
			errs = append(errs, fmt.Errorf("RELAY_ADMIN_PASSWORD: %w", err))
		}
	}
	for name, d := range map[string]time.Duration{"user token TTL": c.UserTokenTTL, "client token TTL": c.ClientTokenTTL, "shutdown timeout": c.ShutdownTimeout,
		"header timeout": c.HeaderTimeout, "body timeout": c.BodyTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", name))
		}
	}
	if c.DataDir != "" {
		if fi, err := os.Stat(c.DataDir); err == nil && !fi.IsDir() {
			errs = append(errs, fmt.Errorf("data directory %s is not a directory", c.DataDir))
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("data directory: %w", err))
		}
	}
	if c.DataDir != "" || c.SecretsKey != "" {
		// A missing key is made on start; an exposed or broken one is refused now.
		if _, err := seal.LoadBox(c.secretsKey()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("secrets key (--secrets-key): %w", err))
		}
	}
	for name, n := range map[string]int{"--max-conns": c.Conns.MaxConns, "--fd-reserve": c.Conns.Reserve,
		"--max-anonymous-conns": c.Conns.MaxAnonymous, "--max-anonymous-conns-per-address": c.Conns.MaxAnonymousPerAddr} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", name))
		}
	}
	errs = append(errs, c.TURN.validate(c.InsecureHTTP)...)
	return errors.Join(errs...)
}

// SecretsKeyFile is the default key file's name inside the data directory.
const SecretsKeyFile = "secrets-key"

func (c *Config) secretsKey() string {
	if c.SecretsKey == "" {
		return filepath.Join(c.DataDir, SecretsKeyFile)
	}
	return c.SecretsKey
}

func (c *Config) listen() string {
	if c.Listen == "" {
		return DefaultListen
	}
	return c.Listen
}

func (c *Config) adminEmail() string {
	if c.AdminEmail == "" {
		return "admin@localhost"
	}
	return c.AdminEmail
}

// isLoopback accepts "localhost" and loopback IP addresses; an empty host (all
// interfaces) is not loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
