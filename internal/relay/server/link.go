package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// agentLinks is the relay's end of the agent links: pkg/edgelink behind the API's
// authenticated /api/v1/agent/link route, with each link's state written to the store so
// the inventory shows which agents are connected and when they were last seen.
type agentLinks struct {
	relay *edgelink.Relay
	st    *store.Store
	log   *slog.Logger
	ctx   context.Context // for store writes from link events; ends with Run

	orgs sync.Map // agent ID -> organization, learned when the agent authenticated
}

func newAgentLinks(ctx context.Context, st *store.Store, log *slog.Logger) (*agentLinks, error) {
	l := &agentLinks{st: st, log: log, ctx: ctx}
	r, err := edgelink.NewRelay(edgelink.RelayConfig{OnEvent: l.onEvent, Logger: log})
	if err != nil {
		return nil, err
	}
	l.relay = r
	return l, nil
}

// handler upgrades requests the API already authenticated as an enrolled agent.
func (l *agentLinks) handler() http.Handler {
	return l.relay.UpgradeHandler(func(r *http.Request) (string, error) {
		p := api.PrincipalFrom(r.Context())
		if p == nil || p.AgentID == "" {
			return "", errors.New("not an agent")
		}
		l.orgs.Store(p.AgentID, p.Org)
		return p.AgentID, nil
	})
}

func (l *agentLinks) onEvent(ev edgelink.Event) {
	org, ok := l.orgs.Load(ev.AgentID)
	if !ok {
		return
	}
	up := ev.Kind == edgelink.EventConnected
	if err := l.st.SetAgentConnection(l.ctx, org.(string), ev.AgentID, up, ev.Time); err != nil && l.ctx.Err() == nil {
		l.log.Warn("record agent link state", "agent", ev.AgentID, "connected", up, "err", err)
	}
}

// close ends every link (agents reconnect to the next relay) and waits for them.
func (l *agentLinks) close() error { return l.relay.Close() }
