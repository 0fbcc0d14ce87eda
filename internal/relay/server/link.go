package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/opencamcloud/camcloud/internal/linkapi"
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
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+linkapi.InventoryPath, l.inventory)
	r, err := edgelink.NewRelay(edgelink.RelayConfig{Handler: mux, OnEvent: l.onEvent, Logger: log})
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

// inventory records an agent's report of the devices it manages: an edge host's become
// (or stay) onboarded under it; a device agent updates its own device only.
func (l *agentLinks) inventory(w http.ResponseWriter, r *http.Request) {
	agentID, _ := edgelink.AgentID(r.Context())
	org, ok := l.orgs.Load(agentID)
	if !ok {
		http.Error(w, "unknown agent", http.StatusForbidden)
		return
	}
	var reports []linkapi.DeviceReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reports); err != nil {
		http.Error(w, "inventory: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if serial, isDevice := strings.CutPrefix(agentID, "dev_"); isDevice {
		for _, rep := range reports {
			if !strings.EqualFold(rep.Serial, serial) {
				http.Error(w, "a device agent reports its own device only", http.StatusForbidden)
				return
			}
			_, err := l.st.UpdateDevice(ctx, org.(string), serial, func(d *store.Device) error {
				if rep.Model != "" {
					d.Model = rep.Model
				}
				if rep.FirmwareVersion != "" {
					d.FirmwareVersion = rep.FirmwareVersion
				}
				return nil
			})
			if err != nil {
				l.log.Warn("inventory", "agent", agentID, "err", err)
				http.Error(w, "inventory not recorded", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out := make([]store.DeviceReport, 0, len(reports))
	for _, rep := range reports {
		out = append(out, store.DeviceReport{Serial: rep.Serial, Model: rep.Model, FirmwareVersion: rep.FirmwareVersion, Reachable: rep.Reachable})
	}
	refused, err := l.st.ReportDevices(ctx, org.(string), agentID, out)
	if err != nil {
		l.log.Warn("inventory", "agent", agentID, "err", err)
		http.Error(w, "inventory not recorded", http.StatusInternalServerError)
		return
	}
	if len(refused) > 0 {
		l.log.Warn("inventory: devices refused (other organization or bad serial)", "agent", agentID, "serials", refused)
	}
	w.WriteHeader(http.StatusNoContent)
}

// close ends every link (agents reconnect to the next relay) and waits for them.
func (l *agentLinks) close() error { return l.relay.Close() }
