// Package agent runs an enrolled agent (edge host or on-device): it keeps the agent link
// to the relay up and serves the agent's own HTTP API on the streams the relay opens.
package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/internal/linkapi"
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
	// Inventory, when set, lists the devices this agent manages with their current
	// state; it is reported to the relay whenever the link comes up and every
	// ReportEvery while it stays up.
	Inventory   func(ctx context.Context) ([]linkapi.DeviceReport, error)
	ReportEvery time.Duration // 0: 10 minutes
	Logger      *slog.Logger  // nil: discard
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
	up := make(chan struct{}, 1) // a link came up; buffered so OnState never waits
	a, err := edgelink.NewAgent(edgelink.AgentConfig{
		RelayURL:  linkURL,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
		Handler:   handler(cfg),
		OnState: func(s edgelink.Status) {
			cfg.Logger.Info("relay link", "state", s.State.String())
			if s.State == edgelink.StateConnected {
				select {
				case up <- struct{}{}:
				default:
				}
			}
			if cfg.OnState != nil {
				cfg.OnState(s)
			}
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if cfg.Inventory == nil {
		return a.Run(ctx)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(ctx) })
	g.Go(func() error { reportLoop(ctx, cfg, a.Client(), up); return nil })
	return g.Wait()
}

// reportLoop sends the inventory when a link comes up and periodically; a failed report
// waits for the next occasion (the relay also learns link state by itself).
func reportLoop(ctx context.Context, cfg Config, hc *http.Client, up <-chan struct{}) {
	every := cfg.ReportEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-up:
		case <-t.C:
		}
		if err := report(ctx, cfg, hc); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("inventory report", "err", err)
		}
	}
}

func report(ctx context.Context, cfg Config, hc *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	devices, err := cfg.Inventory(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(devices)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://relay"+linkapi.InventoryPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("relay answered %s", resp.Status)
	}
	cfg.Logger.Debug("inventory reported", "devices", len(devices))
	return nil
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
	mux.HandleFunc("GET "+linkapi.StatusPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(linkapi.Status{
			AgentID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Kind: cfg.Kind, Version: buildinfo.String(),
		})
	})
	return mux
}
