package taskmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// EnforcedBy marks the jobs the task manager makes to bring managed devices to their
// profiles.
const EnforcedBy = "system:profile"

// Enforcer turns the differences of managed devices from their profiles into jobs for
// the Manager to roll out.
type Enforcer struct {
	st       *store.Store
	releases *releasefiles.Catalog
	log      *slog.Logger
	wake     Wakeup
}

// EnforcerConfig is what an Enforcer needs.
type EnforcerConfig struct {
	Store *store.Store // required
	// Releases picks release files; nil: software differences are skipped.
	Releases *releasefiles.Catalog
	// Wakeup is the Manager's (Config.Wakeup), woken when a job is made; nil: none.
	Wakeup Wakeup
	Logger *slog.Logger
}

// NewEnforcer makes an Enforcer.
func NewEnforcer(cfg EnforcerConfig) (*Enforcer, error) {
	if cfg.Store == nil {
		return nil, errors.New("taskmgr: EnforcerConfig.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Enforcer{st: cfg.Store, releases: cfg.Releases, log: cfg.Logger.With("component", "taskmgr"), wake: cfg.Wakeup}, nil
}

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
func (e *Enforcer) Enforce(ctx context.Context, org, agentID string) (Enforcement, error) {
	st := e.st
	out := Enforcement{Skipped: map[string]string{}}
	o, err := st.Org(ctx, org)
	if err != nil {
		return out, err
	}
	busy, err := e.busyDevices(ctx, org)
	if err != nil {
		return out, err
	}
	list := func(cursor string) ([]store.Device, string, error) {
		return st.ListDevices(ctx, org, store.DeviceFilter{EdgeHost: agentID, Mode: store.ModeManaged}, cursor, 1000)
	}
	if serial, onDevice := store.AgentDevice(agentID); onDevice {
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
			ts, why := e.tasksFor(ctx, d, agentID)
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
	e.log.Info("profile enforcement", "org", org, "agent", agentID, "job", j.ID, "tasks", len(tasks), "skipped", len(out.Skipped))
	if e.wake != nil {
		e.wake.Wake()
	}
	out.Job, out.Tasks = j.ID, len(tasks)
	return out, nil
}

// busyDevices are the devices with a profile task not ended.
func (e *Enforcer) busyDevices(ctx context.Context, org string) (map[string]bool, error) {
	jobs, err := e.st.ActiveJobs(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	for _, j := range jobs {
		if j.Org != org || j.CreatedBy != EnforcedBy {
			continue
		}
		ts, err := e.st.Tasks(ctx, org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30)
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
func (e *Enforcer) tasksFor(ctx context.Context, d store.Device, agentID string) ([]store.Task, string) {
	var prof profile.Profile
	if d.Profile != "" {
		prof, _ = e.st.Profile(ctx, d.Org, d.Profile)
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
			want := c.Want
			if prof.OSVersion == profile.LatestOS {
				// The difference was computed against the newest release when the agent
				// last fetched its configuration; one published since is newer still.
				rels, err := e.st.Releases(ctx)
				if err != nil {
					return nil, fmt.Sprintf("release catalog: %v", err)
				}
				if want = prof.ForDevice(d.FirmwareVersion, store.NewestOS(rels, prof.OSTrack, d.Model)).OSVersion; want == "" {
					continue // already on the newest release of its track
				}
			}
			steps = append(steps, step{taskkind.Firmware, taskkind.FirmwareParams{Version: want}})
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
		params, err := TaskParams(ctx, e.releases, s.kind, raw, d)
		if err != nil {
			why = fmt.Sprintf("%s: %v", s.kind, err)
			continue
		}
		out = append(out, store.Task{TaskReport: linkapi.TaskReport{Kind: s.kind, Serial: d.Serial}, EdgeHost: agentID,
			Params: params, MaxAttempts: 3, Backoff: time.Minute})
	}
	return out, why
}
