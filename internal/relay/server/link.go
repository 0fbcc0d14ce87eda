package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/relay/taskmgr"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// agentLinks is the relay's end of the agent links: pkg/edgelink behind the API's
// authenticated /api/v1/agent/link route, with each link's state written to the store so
// the inventory shows which agents are connected and when they were last seen.
type agentLinks struct {
	relay    *edgelink.Relay
	st       *store.Store
	log      *slog.Logger
	releases *releasefiles.Catalog // serves artifacts to agents; nil: none
	wake     waker                 // tells the task manager an agent reported or connected; nil: none
	enforce  enforcer              // brings an agent's managed devices to their profiles; nil: none

	orgs sync.Map // agent ID -> organization, learned when the agent authenticated
}

// waker is the task manager's wake-up (taskmgr.Wakeup).
type waker interface{ Wake() }

// enforcer is the task manager's profile enforcement (taskmgr.Enforcer).
type enforcer interface {
	Enforce(ctx context.Context, org, agentID string) (taskmgr.Enforcement, error)
}

// linksConfig is what the relay's end of the agent links needs.
type linksConfig struct {
	Store    *store.Store
	Releases *releasefiles.Catalog
	Wake     waker
	Enforce  enforcer
	Logger   *slog.Logger
}

// newAgentLinks makes the relay's end of the agent links. ctx is for the store writes
// link events make (a link coming up or going down); it should outlive the links.
func newAgentLinks(ctx context.Context, cfg linksConfig) (*agentLinks, error) {
	st := cfg.Store
	l := &agentLinks{st: st, log: cfg.Logger, releases: cfg.Releases, wake: cfg.Wake, enforce: cfg.Enforce}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+linkapi.InventoryPath, l.inventory)
	mux.HandleFunc("POST "+linkapi.DiscoveredPath, record(l, "discovered devices", true, st.SetDiscovered))
	mux.HandleFunc("POST "+linkapi.TasksPath, record(l, "tasks", false, func(ctx context.Context, org, agentID string, reports []linkapi.TaskReport) error {
		refused, err := st.PutTasks(ctx, org, agentID, reports)
		// A refused report is answered like the others: the agent would only send it
		// again, and it stays refused.
		for _, r := range refused {
			l.log.Warn("task report refused", "agent", agentID, "task", r.ID, "attempt", r.Attempt, "err", r.Err)
		}
		l.wakeTasks()
		return err
	}))
	mux.HandleFunc("GET "+linkapi.ArtifactPath+"{sha}", l.artifact)
	mux.HandleFunc("GET "+linkapi.ReleaseKeyPath, l.releaseKey)
	mux.HandleFunc("POST "+linkapi.ProfileCheckPath, l.profileCheck)
	mux.HandleFunc("GET "+linkapi.VMSListPath, l.vmsServers)
	mux.HandleFunc("GET "+linkapi.ConfigPath, l.config)
	r, err := edgelink.NewRelay(edgelink.RelayConfig{Handler: mux, Logger: cfg.Logger,
		OnEvent: func(ev edgelink.Event) { l.onEvent(ctx, ev) }})
	if err != nil {
		return nil, fmt.Errorf("agent links: %w", err)
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

func (l *agentLinks) onEvent(ctx context.Context, ev edgelink.Event) {
	org, ok := l.orgs.Load(ev.AgentID)
	if !ok {
		return
	}
	up := ev.Kind == edgelink.EventConnected
	if err := l.st.SetAgentConnection(ctx, org.(string), ev.AgentID, up, ev.Time); err != nil && ctx.Err() == nil {
		l.log.Warn("record agent link state", "agent", ev.AgentID, "connected", up, "err", err)
	}
	if up {
		l.wakeTasks() // tasks waiting for this agent can go
	}
}

// agentOrg is the organization of the agent making the request; not ok for an agent
// deleted since its link came up (the API ends such links, but one whose handshake was
// under way as it was deleted may have slipped through).
func (l *agentLinks) agentOrg(r *http.Request) (agentID, org string, ok bool) {
	agentID, _ = edgelink.AgentID(r.Context())
	o, ok := l.orgs.Load(agentID)
	if !ok {
		return agentID, "", false
	}
	if err := l.st.CheckAgent(r.Context(), o.(string), agentID); err != nil {
		return agentID, "", false
	}
	return agentID, o.(string), true
}

// maxAgentBody bounds a report from an agent (inventory, discoveries, task states).
const maxAgentBody = 32 << 20

// inventory records an agent's report of the devices it manages: an edge host's report
// updates the organization's devices it manages and nothing else (store.ReportDevices),
// and is answered with the devices it is to forget; a device agent updates its own
// device only.
func (l *agentLinks) inventory(w http.ResponseWriter, r *http.Request) {
	agentID, org, ok := l.agentOrg(r)
	if !ok {
		http.Error(w, "unknown agent", http.StatusForbidden)
		return
	}
	var reports []linkapi.DeviceReport
	if !linkapi.DecodeBody(w, r, maxAgentBody, &reports) {
		return
	}
	ctx := r.Context()
	if serial, isDevice := store.AgentDevice(agentID); isDevice {
		for _, rep := range reports {
			if !strings.EqualFold(rep.Serial, serial) {
				http.Error(w, "a device agent reports its own device only", http.StatusForbidden)
				return
			}
			rep.Serial = serial
			if _, err := l.st.ReportOwnDevice(ctx, org, rep); err != nil {
				l.log.Warn("inventory", "agent", agentID, "err", err)
				http.Error(w, "inventory not recorded", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	res, err := l.st.ReportDevices(ctx, org, agentID, reports)
	if err != nil {
		l.log.Warn("inventory", "agent", agentID, "err", err)
		http.Error(w, "inventory not recorded", http.StatusInternalServerError)
		return
	}
	if len(res.Ignored) > 0 {
		l.log.Warn("inventory: reports that change nothing (not the organization's devices under this edge host, or bad serials)", "agent", agentID, "serials", res.Ignored)
	}
	if len(res.Forget) > 0 {
		l.log.Info("inventory: the edge host is told to forget devices", "agent", agentID, "serials", res.Forget)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(linkapi.InventoryAnswer{Forget: res.Forget})
}

// isDeviceAgent: the agent runs on a device, not on an edge host.
func isDeviceAgent(agentID string) bool {
	_, ok := store.AgentDevice(agentID)
	return ok
}

// record is a handler for an agent's JSON report of type T, stored by save; with
// edgeHostsOnly, agents on devices are refused.
func record[T any](l *agentLinks, what string, edgeHostsOnly bool, save func(ctx context.Context, org, agentID string, v T) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		agentID, org, ok := l.agentOrg(r)
		if !ok || edgeHostsOnly && isDeviceAgent(agentID) {
			http.Error(w, what+": not accepted from this agent", http.StatusForbidden)
			return
		}
		var v T
		if !linkapi.DecodeBody(w, r, maxAgentBody, &v) {
			return
		}
		if err := save(r.Context(), org, agentID, v); err != nil {
			l.log.Warn(what, "agent", agentID, "err", err)
			http.Error(w, what+" not recorded", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// config answers an edge host with the mode and profile of each device it manages.
func (l *agentLinks) config(w http.ResponseWriter, r *http.Request) {
	agentID, org, ok := l.agentOrg(r)
	if !ok {
		http.Error(w, "unknown agent", http.StatusForbidden)
		return
	}
	out, err := l.deviceConfigs(r.Context(), org, agentID)
	if err != nil {
		l.log.Warn("device configuration", "agent", agentID, "err", err)
		http.Error(w, "configuration unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (l *agentLinks) deviceConfigs(ctx context.Context, org, agentID string) ([]linkapi.DeviceConfig, error) {
	out := []linkapi.DeviceConfig{}
	profiles := map[string]profile.Profile{}
	var rels []store.Release // read when a profile asks for the latest AXIS OS
	list := func(cursor string) ([]store.Device, string, error) {
		return l.st.ListDevices(ctx, org, store.DeviceFilter{EdgeHost: agentID}, cursor, 1000)
	}
	if serial, ok := store.AgentDevice(agentID); ok {
		list = func(string) ([]store.Device, string, error) {
			d, err := l.st.Device(ctx, org, serial)
			return []store.Device{d}, "", err
		}
	}
	for cursor := ""; ; {
		ds, next, err := list(cursor)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.EdgeHost != agentID && d.AgentID != agentID {
				continue
			}
			p, ok := profiles[d.Profile]
			if !ok {
				if d.Profile != "" {
					p, err = l.st.Profile(ctx, org, d.Profile)
				}
				if d.Profile == "" || errors.Is(err, store.ErrNotFound) {
					p, err = l.st.DefaultProfile(ctx, org)
				}
				if err != nil {
					return nil, err
				}
				profiles[d.Profile] = p
			}
			if p.OSVersion == profile.LatestOS && rels == nil {
				if rels, err = l.st.Releases(ctx); err != nil {
					return nil, fmt.Errorf("release catalog: %w", err)
				}
			}
			// The agent compares the device with the profile as it applies to it: "latest"
			// is the newest release the catalog holds for its model and track.
			p = p.ForDevice(d.FirmwareVersion, store.NewestOS(rels, p.OSTrack, d.Model))
			out = append(out, linkapi.DeviceConfig{Serial: d.Serial, Mode: string(d.EffectiveMode()), Profile: p, ManagedSince: d.ManagedSince})
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func (l *agentLinks) wakeTasks() {
	if l.wake != nil {
		l.wake.Wake()
	}
}

// artifact streams a release file to an agent (the agent checks its hash and signature).
func (l *agentLinks) artifact(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := l.agentOrg(r); !ok {
		http.Error(w, "unknown agent", http.StatusForbidden)
		return
	}
	if l.releases == nil {
		http.Error(w, "no software catalog", http.StatusNotFound)
		return
	}
	f, err := l.releases.Open(r.PathValue("sha"))
	if err != nil {
		http.Error(w, "no such artifact", http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// profileCheck is an agent's periodic check: its managed devices' differences from their
// profiles become tasks (the software they need from the release catalog).
func (l *agentLinks) profileCheck(w http.ResponseWriter, r *http.Request) {
	agentID, org, ok := l.agentOrg(r)
	if !ok || l.enforce == nil {
		http.Error(w, "profile check: not available", http.StatusForbidden)
		return
	}
	res, err := l.enforce.Enforce(r.Context(), org, agentID)
	if err != nil {
		l.log.Warn("profile check", "agent", agentID, "err", err)
		http.Error(w, "profile check failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// vmsServers lists the VMS servers an admin registered for the edge host.
func (l *agentLinks) vmsServers(w http.ResponseWriter, r *http.Request) {
	agentID, org, ok := l.agentOrg(r)
	if !ok {
		http.Error(w, "unknown agent", http.StatusForbidden)
		return
	}
	out := []linkapi.VMSServer{}
	if !isDeviceAgent(agentID) {
		list, err := l.st.VMSServers(r.Context(), org, agentID)
		if err != nil {
			l.log.Warn("VMS servers", "agent", agentID, "err", err)
			http.Error(w, "VMS servers unavailable", http.StatusInternalServerError)
			return
		}
		for _, v := range list {
			out = append(out, linkapi.VMSServer{Name: v.Name, Address: v.Address, HTTPS: v.HTTPS})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// releaseKey is the public key agents verify release signatures with.
func (l *agentLinks) releaseKey(w http.ResponseWriter, r *http.Request) {
	if l.releases == nil {
		http.Error(w, "no software catalog", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(l.releases.PublicKeyPEM())
}

// Disconnect ends the link of an agent that was deleted.
func (l *agentLinks) Disconnect(agentID string) { l.relay.Disconnect(agentID) }

// DisconnectOrg ends the links of every agent of a deleted organization.
func (l *agentLinks) DisconnectOrg(org string) {
	l.orgs.Range(func(id, o any) bool {
		if o == org {
			l.relay.Disconnect(id.(string))
		}
		return true
	})
}

// close ends every link (agents reconnect to the next relay) and waits for them.
func (l *agentLinks) close() error { return l.relay.Close() }
