package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// listDiscovered is what an edge host found on its network and is not managed yet.
// Whether a device is managed is the inventory's word, not the edge host's: by this
// edge host, or by the agent on the device itself (devicehost), which onboarded it. A
// device the edge host still reports after the device was deleted, or moved to another
// of the organization's edge hosts, is only discovered here.
func (a *API) listDiscovered(w http.ResponseWriter, r *http.Request) error {
	org, host := PrincipalFrom(r.Context()).Org, r.PathValue("id")
	found, err := a.store.Discovered(r.Context(), org, host)
	if err != nil {
		return err
	}
	out := make([]linkapi.DiscoveredDevice, 0, len(found))
	all := r.URL.Query().Get("all") == "true"
	for _, d := range found {
		route, err := a.store.DeviceRoute(r.Context(), org, d.Serial)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		d.Onboarded = err == nil && (route.EdgeHost == host || route.AgentID != "")
		if all || !d.Onboarded {
			out = append(out, d)
		}
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

type onboardBody struct {
	Devices []linkapi.OnboardDevice `json:"devices"`
	// Profile names the profile the devices get; empty: the organization's default.
	Profile string `json:"profile"`
}

// onboard passes discovered devices with their admin credentials to the edge host, which
// makes its own account on each and reports one task per device. The credentials pass
// through the relay's memory only: they are neither stored nor logged. A task that
// succeeds proves the device is the organization's (store.PutOnboardTasks): it joins
// the inventory under this edge host, moving from another of the organization's edge
// hosts if one managed it, and other organizations' unproven records of it go.
func (a *API) onboard(w http.ResponseWriter, r *http.Request) error {
	var body onboardBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	ctx := r.Context()
	host, err := a.store.EdgeHost(ctx, p.Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(body.Devices) == 0 || len(body.Devices) > 1000 {
		return problem.Invalid("devices", "list 1 to 1000 devices")
	}
	seen := map[string]bool{}
	for i := range body.Devices {
		d := &body.Devices[i]
		serial, err := store.NormalizeSerial(strings.TrimSpace(d.Serial))
		if err != nil {
			return problem.Invalid(fmt.Sprintf("devices[%d].serial", i), "must be 12 hexadecimal digits")
		}
		if seen[serial] {
			return problem.Invalid(fmt.Sprintf("devices[%d].serial", i), "listed twice")
		}
		seen[serial] = true
		if d.Username == "" || len(d.Username) > 64 || d.Password == "" || len(d.Password) > 128 {
			return problem.Invalid(fmt.Sprintf("devices[%d]", i), "username (up to 64 bytes) and password (up to 128 bytes) of an admin account on the device are required")
		}
		d.Serial = serial
		switch own, err := a.store.Device(ctx, p.Org, serial); {
		case err == nil && own.AgentID != "":
			return problem.Newf(problem.Conflict, "device %s is managed by its own agent", serial)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		switch owner, err := a.store.DeviceOwner(ctx, serial); {
		case err != nil:
			return err
		case owner != "" && owner != p.Org:
			a.auditDevice(r, store.AuditDeviceProven, serial, store.ErrClaimedElsewhere, "onboarding through edge host "+host.ID)
			a.failedDeviceProof(r, serial)
			return problem.Newf(problem.DeviceClaimed, "another organization proved device %s is its own", serial)
		}
	}
	var prof profile.Profile
	if body.Profile == "" {
		prof, err = a.store.DefaultProfile(ctx, p.Org)
	} else {
		prof, err = a.store.Profile(ctx, p.Org, body.Profile)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Invalid("profile", "no such profile in this organization")
		}
	}
	if err != nil {
		return err
	}
	var resp linkapi.OnboardResponse
	if err := a.callAgent(ctx, host.ID, http.MethodPost, linkapi.OnboardPath, linkapi.OnboardRequest{Devices: body.Devices, Profile: prof}, &resp); err != nil {
		return err
	}
	// Only onboarding tasks of the devices asked for count: an edge host cannot answer
	// with a task for a device nobody asked it to take over.
	resp.Tasks = slices.DeleteFunc(resp.Tasks, func(t linkapi.TaskReport) bool { return !seen[strings.ToUpper(t.Serial)] })
	refused, err := a.store.PutOnboardTasks(ctx, p.Org, host.ID, p.Subject(), resp.Tasks)
	if err != nil {
		return err
	}
	for _, r := range refused {
		a.log.WarnContext(ctx, "onboarding task refused", "edgehost", host.ID, "task", r.ID, "err", r.Err)
	}
	a.log.InfoContext(ctx, "onboarding started", "edgehost", host.ID, "devices", len(body.Devices), "profile", prof.Name, "by", p.Subject())
	out := make([]TaskView, 0, len(resp.Tasks))
	for _, t := range resp.Tasks {
		stored, err := a.store.Task(ctx, p.Org, t.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // not recorded (a malformed ID): not a task anyone can follow
		}
		if err != nil {
			return err
		}
		out = append(out, viewTask(stored))
	}
	return writeJSON(w, http.StatusAccepted, listOf(out))
}

// callAgent makes a JSON request to an agent over its link, its failures as problems.
func (a *API) callAgent(ctx context.Context, agentID, method, path string, in, out any) error {
	if a.cfg.Agents == nil {
		return problem.New(problem.AgentOffline, "this relay does not reach agents")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hc := &http.Client{Transport: a.cfg.Agents, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	err := linkapi.Call(ctx, hc, method, "http://"+edgelink.AgentHost(agentID)+path, in, out)
	var se *linkapi.StatusError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, edgelink.ErrAgentOffline):
		return problem.Newf(problem.AgentOffline, "agent %s is not connected; try again when it is back online", agentID)
	case errors.As(err, &se):
		return problem.Newf(problem.AgentError, "agent %s refused the request (%s): %s", agentID, se.Status, se.Body)
	}
	return problem.Newf(problem.AgentError, "agent %s: %v", agentID, err)
}
