// Package agent runs an enrolled agent (edge host or on-device): it keeps the agent link
// to the relay up and serves the agent's own HTTP API on the streams the relay opens.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// LinkPath is where the relay accepts agent links.
const LinkPath = "/api/v1/agent/link"

// Config is what Run needs.
type Config struct {
	Identity *identity.Identity // required
	Kind     string             // "edgehost" or "devicehost", reported in /v1/status
	// OnState is told when the link goes up or down (nil: only logged).
	OnState func(edgelink.Status)
	Logger  *slog.Logger // nil: discard
}

// Run keeps the link to the relay until ctx is done, reconnecting with backoff.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Identity == nil {
		return errors.New("agent: Config.Identity is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	id := cfg.Identity
	cert, err := id.TLSCertificate()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(id.CAPEM) {
		return errors.New("agent: no CA certificate in the identity")
	}
	linkURL, err := linkURL(id.Relay)
	if err != nil {
		return err
	}
	a, err := edgelink.NewAgent(edgelink.AgentConfig{
		RelayURL:  linkURL,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
		Handler:   handler(cfg),
		OnState: func(s edgelink.Status) {
			cfg.Logger.Info("relay link", "state", s.State.String())
			if cfg.OnState != nil {
				cfg.OnState(s)
			}
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return a.Run(ctx)
}

// linkURL turns the relay's https:// URL into the link's wss:// URL.
func linkURL(relay string) (string, error) {
	switch {
	case strings.HasPrefix(relay, "https://"):
		return "wss://" + strings.TrimPrefix(relay, "https://") + LinkPath, nil
	case strings.HasPrefix(relay, "http://"):
		return "ws://" + strings.TrimPrefix(relay, "http://") + LinkPath, nil
	}
	return "", fmt.Errorf("agent: relay URL %q: want https://host:port", relay)
}

// handler is the agent's API on the streams the relay opens.
func handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"agentId": cfg.Identity.AgentID, "org": cfg.Identity.Org, "kind": cfg.Kind, "version": buildinfo.String(),
		})
	})
	return mux
}
