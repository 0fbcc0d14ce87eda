package taskmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/internal/taskstate"
)

// EnforcedBy marks the jobs the task manager makes to bring managed devices to their
// profiles.
const EnforcedBy = "system:profile"

// Enforcement is what one profile check decided.
type Enforcement struct {
	Job   string `json:"job,omitempty"` // the job made, if any
	Tasks int    `json:"tasks"`
	// Skipped says why devices with a difference got no task (no release file, a task
	// already under way).
	Skipped map[string]string `json:"skipped,omitempty"`
}

// Enforce brings the managed devices of an agent to their profiles: each difference its
// last report showed becomes a task, in one job that starts inside the organization's
// maintenance window (at once without one). A device that already has such a task under
// way gets no other; a difference no release file can fix is skipped with the reason.
// Connected devices are left alone: the inventory shows them their differences.
func (m *Manager) Enforce(ctx context.Context, org, agentID string) (Enforcement, error) {
	st := m.cfg.Store
	out := Enforcement{Skipped: map[string]string{}}
	o, err := st.Org(ctx, org)
	if err != nil {
		return out, err
	}
	busy, err := m.busyDevices(ctx, org)
	if err != nil {
		return out, err
	}
	list := func(cursor string) ([]store.Device, string, error) {
		return st.ListDevices(ctx, org, store.DeviceFilter{EdgeHost: agentID, Mode: store.ModeManaged}, cursor, 1000)
	}
	if serial, onDevice := strings.CutPrefix(agentID, "dev_"); onDevice {
		list = func(string) ([]store.Device, string, error) { // the agent's own camera
			d, err := st.Device(ctx, org, serial)
			if err != nil || d.EffectiveMode() != store.ModeManaged {
				return nil, "", err
			}
			return []store.Device{d}, "", nil
		}
	}
	var tasks []store.Task
	for cursor := ""; ; {
		ds, next, err := list(cursor)
		if err != nil {
			return out, err
		}
		for _, d := range ds {
			if len(d.Diff) == 0 {
				continue
			}
			if busy[d.Serial] {
				out.Skipped[d.Serial] = "a profile task is already under way"
				continue
			}
			ts, why := m.tasksFor(ctx, d, agentID)
			if why != "" {
				out.Skipped[d.Serial] = why
			}
			tasks = append(tasks, ts...)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(tasks) == 0 {
		return out, nil
	}
	j, err := st.CreateJob(ctx, store.Job{Org: org, Kind: "profile", CreatedBy: EnforcedBy,
		Policy: store.Policy{MaxInFlight: 10, Window: o.MaintenanceWindow}, Retry: store.Retry{MaxAttempts: 3, BackoffSeconds: 60}}, tasks)
	if err != nil {
		return out, err
	}
	m.log.Info("profile enforcement", "org", org, "agent", agentID, "job", j.ID, "tasks", len(tasks), "skipped", len(out.Skipped))
	m.Wake()
	out.Job, out.Tasks = j.ID, len(tasks)
	return out, nil
}

// busyDevices are the devices with a profile task not ended.
func (m *Manager) busyDevices(ctx context.Context, org string) (map[string]bool, error) {
	jobs, err := m.cfg.Store.ActiveJobs(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	for _, j := range jobs {
		if j.Org != org || j.CreatedBy != EnforcedBy {
			continue
		}
		ts, err := m.cfg.Store.Tasks(ctx, org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if !t.State.Final() || t.State == taskstate.Failed && t.Attempt < t.MaxAttempts {
				busy[t.Serial] = true
			}
		}
	}
	return busy, nil
}

// tasksFor turns a device's differences from its profile into tasks: AXIS OS first, then
// applications, then settings (the agent runs a device's tasks one at a time, in order).
func (m *Manager) tasksFor(ctx context.Context, d store.Device, agentID string) ([]store.Task, string) {
	var prof profile.Profile
	if d.Profile != "" {
		prof, _ = m.cfg.Store.Profile(ctx, d.Org, d.Profile)
	}
	running := map[string]bool{}
	for _, a := range prof.Apps {
		running[a.Name] = a.Running
	}
	type step struct {
		kind   string
		params any
	}
	var steps []step
	values := map[string]string{}
	for _, c := range d.Diff {
		switch c.Kind {
		case "os":
			steps = append(steps, step{taskkind.Firmware, taskkind.FirmwareParams{Version: c.Want}})
		case "app-install", "app-upgrade":
			if c.Want == "" {
				continue // any version will do, but the catalog needs one to pick a file
			}
			steps = append(steps, step{taskkind.AppInstall, taskkind.AppParams{Name: c.Target, Version: c.Want, Start: running[c.Target]}})
		case "app-start":
			steps = append(steps, step{taskkind.AppStart, taskkind.AppParams{Name: c.Target}})
		case "app-stop":
			steps = append(steps, step{taskkind.AppStop, taskkind.AppParams{Name: c.Target}})
		case "param":
			values[c.Target] = c.Want
		case "overlay":
			steps = append(steps, step{taskkind.Overlay, taskkind.OverlayParams{Text: c.Want}})
		}
	}
	if len(values) > 0 {
		steps = append(steps, step{taskkind.Params, taskkind.ParamsParams{Values: values}})
	}
	order := []string{taskkind.Firmware, taskkind.AppInstall, taskkind.AppStart, taskkind.AppStop, taskkind.Overlay, taskkind.Params}
	slices.SortStableFunc(steps, func(a, b step) int { return slices.Index(order, a.kind) - slices.Index(order, b.kind) })
	var out []store.Task
	why := ""
	for _, s := range steps {
		raw, _ := json.Marshal(s.params)
		params, err := TaskParams(ctx, m.cfg.Releases, s.kind, raw, d)
		if err != nil {
			why = fmt.Sprintf("%s: %v", s.kind, err)
			continue
		}
		out = append(out, store.Task{TaskReport: linkapi.TaskReport{Kind: s.kind, Serial: d.Serial}, EdgeHost: agentID,
			Params: params, MaxAttempts: 3, Backoff: time.Minute})
	}
	return out, why
}
