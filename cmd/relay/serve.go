package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/relay/turn"
)

const serveLong = `Serve the relay API over HTTPS.

On first start, in --data DIR:
  ca.pem, ca-key.pem          the relay's CA (clients trust ca.pem; the key stays 0600)
  server.pem, server-key.pem  the server certificate, for the --listen host, --host
                              names, localhost, 127.0.0.1 and ::1 (unless --tls-cert)
  relay.db                    the state (bbolt); one relay per directory
  secrets-key                 seals the users' two-step verification secrets (0600;
                              or --secrets-key FILE); back it up with relay.db
and a first admin: --admin-email with the password from the environment variable
RELAY_ADMIN_PASSWORD, or a generated password printed once on stderr.

Plain HTTP needs --insecure-http and a loopback --listen address.
When serving, it prints "relay ready: URL ca=FILE" on stdout.
SIGINT or SIGTERM stops it gracefully.

Under load it stays reachable: a connection is anonymous until a request on it shows a
valid token or agent certificate (or signs in); anonymous connections are bounded per
source address and in total, and the oldest is closed to make room for a new one.
Stalled handshakes, headers and bodies are cut off (--header-timeout, --body-timeout).

TURN (for WebRTC sessions that cannot connect directly) is on when a --turn-*-listen
address is given: over UDP and TCP (usually port 3478) and TLS (usually 5349, or 443 of
an address of its own for networks that only let 443 out; it uses the relay's server
certificate). Credentials are short-lived (--turn-ttl), handed out by
GET /api/v1/orgs/{org}/ice-servers and derived from the shared secret in
--turn-secret-file (created on first start, 0600): coturn started with
use-auth-secret and the same static-auth-secret can replace the built-in server
(--turn-url names its URLs).
Relayed candidates carry --turn-public-ip; peers on loopback, private and link-local
addresses are refused unless --turn-allow-peer names them.`

func newServeCommand() *cobra.Command {
	var (
		cfg         server.Config
		logLevel    string
		logFormat   string
		checkConfig bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the relay",
		Long:  serveLong,
		Args:  cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", "", "data directory (database, CA, certificates); created if missing")
	f.StringVar(&cfg.SecretsKey, "secrets-key", "", "key file sealing two-step verification secrets, made (0600) if missing (default DATA/secrets-key)")
	f.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address to serve on")
	f.StringSliceVar(&cfg.Hosts, "host", nil, "extra host name or address for the generated server certificate (repeatable)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve this certificate (PEM) instead of the generated one")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "key (PEM) of --tls-cert")
	f.BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "serve plain HTTP (loopback addresses only)")
	f.StringVar(&cfg.AdminEmail, "admin-email", "admin@localhost", "e-mail (login) of the first admin, created on first start")
	f.StringVar(&cfg.Catalog, "catalog", "", "model catalog JSON file (family, warranty, end of support, recommended AXIS OS per model); default: built in")
	f.DurationVar(&cfg.UserTokenTTL, "user-token-ttl", 0, "lifetime of a person's bearer token (default 12h)")
	f.DurationVar(&cfg.ClientTokenTTL, "client-token-ttl", 0, "lifetime of an application's bearer token (default 1h)")
	f.DurationVar(&cfg.HeaderTimeout, "header-timeout", server.DefaultHeaderTimeout, "longest a caller may take for the TLS handshake and a request's headers")
	f.DurationVar(&cfg.BodyTimeout, "body-timeout", api.DefaultBodyTimeout, "longest the relay waits for each 16 KiB of a request body (or its end) before answering 408; uploads of any size pass while they keep moving")
	f.IntVar(&cfg.Conns.MaxConns, "max-conns", 0, "most client connections held at once (default: the file descriptor limit less --fd-reserve)")
	f.IntVar(&cfg.Conns.Reserve, "fd-reserve", connlimit.DefaultReserve, "file descriptors kept free for the relay's own files and outbound calls")
	f.IntVar(&cfg.Conns.MaxAnonymous, "max-anonymous-conns", connlimit.DefaultMaxAnonymous, "most connections held before any request on them proved who the caller is; the oldest is closed to make room")
	f.IntVar(&cfg.Conns.MaxAnonymousPerAddr, "max-anonymous-conns-per-address", connlimit.DefaultMaxAnonymousPerAddr, "the same, per source address (per /64 for IPv6)")
	f.StringVar(&cfg.TURN.UDPListen, "turn-udp-listen", "", "serve TURN over UDP on this address, such as :3478 (default: off)")
	f.StringVar(&cfg.TURN.TCPListen, "turn-tcp-listen", "", "serve TURN over TCP on this address, such as :3478 (default: off)")
	f.StringVar(&cfg.TURN.TLSListen, "turn-tls-listen", "", "serve TURN over TLS on this address, such as :5349, with the relay's certificate (default: off)")
	f.StringVar(&cfg.TURN.SecretFile, "turn-secret-file", "", "file with the secret TURN credentials are derived from, created (0600) if missing; give coturn the same (default DATA/"+server.TURNSecretFile+")")
	f.StringVar(&cfg.TURN.PublicIP, "turn-public-ip", "", "IP address put in relayed candidates, the one clients and peers reach (required unless TURN listens on loopback only)")
	f.StringVar(&cfg.TURN.Host, "turn-host", "", "host name in the TURN URLs handed to clients (default: the first --host, else --turn-public-ip)")
	f.StringVar(&cfg.TURN.Realm, "turn-realm", turn.DefaultRealm, "TURN realm")
	f.DurationVar(&cfg.TURN.TTL, "turn-ttl", server.DefaultTURNTTL, "lifetime of the TURN credentials handed out")
	f.IntVar(&cfg.TURN.MaxPerOrg, "turn-max-allocations", turn.DefaultMaxPerOrg, "most TURN allocations one organization holds at once")
	f.StringVar(&cfg.TURN.RelayPorts, "turn-relay-ports", fmt.Sprintf("%d-%d", turn.DefaultMinRelayPort, turn.DefaultMaxRelayPort), "UDP/TCP port range of relayed addresses (open it in the firewall)")
	f.StringSliceVar(&cfg.TURN.URLs, "turn-url", nil, "stun:, turn: or turns: URL handed out instead of the built-in server's, such as a coturn sharing --turn-secret-file (repeatable)")
	f.StringSliceVar(&cfg.TURN.AllowPeers, "turn-allow-peer", nil, "address or CIDR range TURN relays to although private or loopback, such as a LAN of cameras (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	f.BoolVar(&checkConfig, "check-config", false, "validate the configuration and exit")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		// Read here, not as a flag: a password on a command line is visible to every user
		// of the machine.
		cfg.AdminPassword = os.Getenv("RELAY_ADMIN_PASSWORD")
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		opts := &slog.HandlerOptions{Level: lvl}
		switch logFormat {
		case "text":
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts))
		case "json":
			cfg.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts))
		default:
			return fmt.Errorf("--log-format %q: want text or json", logFormat)
		}
		cfg.Stderr = cmd.ErrOrStderr()
		srv, err := server.New(cfg)
		if err != nil {
			return err
		}
		if checkConfig {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return err
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		ctx := cmd.Context()
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx, ln) }()
		select {
		case err := <-done:
			return err
		case <-srv.Ready():
		}
		scheme := "https"
		if cfg.InsecureHTTP {
			scheme = "http"
		}
		caPath, _ := filepath.Abs(filepath.Join(cfg.DataDir, pki.CAFile))
		fmt.Fprintf(cmd.OutOrStdout(), "relay ready: %s://%s ca=%s\n", scheme, ln.Addr(), caPath)
		return <-done
	}
	return cmd
}
