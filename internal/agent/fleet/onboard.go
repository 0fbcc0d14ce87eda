package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// ModeManaged is the mode a device gets when onboarded.
const ModeManaged = "managed"

// MaxOnboard bounds the devices of one onboarding request.
const MaxOnboard = 1000

// Interrupted is why an onboarding task fails when the agent stopped before it ended:
// the admin credentials it needs were held in memory only.
const Interrupted = "the agent restarted before the task ended; onboard the device again"

// onboardParams are an onboarding task's parameters, as journaled: everything but the
// admin credentials, which the manager holds in memory (adminCreds).
type onboardParams struct {
	Profile profile.Profile `json:"profile"`
	// Asked is when the onboarding was asked for: a device the store shows onboarded
	// since then was onboarded by this task, though the agent stopped before recording it.
	Asked time.Time `json:"asked"`
}

// adminCreds holds the admin accounts of onboarding tasks that have not started, by task
// ID. They are never journaled: each is taken once, by the task's runner, so a task the
// agent restarts without them fails as interrupted.
type adminCreds struct {
	mu sync.Mutex
	m  map[string]linkapi.OnboardDevice
}

func (c *adminCreds) put(id string, d linkapi.OnboardDevice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]linkapi.OnboardDevice{}
	}
	c.m[id] = d
}

// take returns and forgets a task's credentials.
func (c *adminCreds) take(id string) (linkapi.OnboardDevice, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[id]
	delete(c.m, id)
	return d, ok
}

// Onboard journals one onboarding task per device in the task engine and returns them
// as accepted; they run as the engine's other tasks do (at most Config.TaskConcurrency at
// once, one per device) and report each transition. The admin credentials stay in
// memory until each task's runner uses them.
func (m *Manager) Onboard(ctx context.Context, req linkapi.OnboardRequest) (linkapi.OnboardResponse, error) {
	m.mu.Lock()
	running := m.running
	m.mu.Unlock()
	if !running || m.engine == nil {
		return linkapi.OnboardResponse{}, errors.New("fleet: not running")
	}
	if err := ctx.Err(); err != nil {
		return linkapi.OnboardResponse{}, fmt.Errorf("fleet: onboard: %w", err)
	}
	if len(req.Devices) == 0 || len(req.Devices) > MaxOnboard {
		return linkapi.OnboardResponse{}, fmt.Errorf("fleet: onboard 1 to %d devices, not %d", MaxOnboard, len(req.Devices))
	}
	if err := req.Profile.Validate(); err != nil {
		return linkapi.OnboardResponse{}, fmt.Errorf("fleet: profile: %w", err)
	}
	seen := map[string]bool{}
	for i, d := range req.Devices {
		s := strings.ToUpper(d.Serial)
		switch {
		case len(s) != 12:
			return linkapi.OnboardResponse{}, fmt.Errorf("fleet: device %d: serial %q is not 12 hexadecimal digits", i, d.Serial)
		case d.Username == "" || d.Password == "":
			return linkapi.OnboardResponse{}, fmt.Errorf("fleet: device %s: admin username and password are required", s)
		case seen[s]:
			return linkapi.OnboardResponse{}, fmt.Errorf("fleet: device %s listed twice", s)
		}
		seen[s] = true
		req.Devices[i].Serial = s
	}
	params, err := json.Marshal(onboardParams{Profile: req.Profile, Asked: m.cfg.Now().UTC()})
	if err != nil {
		return linkapi.OnboardResponse{}, fmt.Errorf("fleet: onboarding parameters: %w", err)
	}
	tasks := make([]taskengine.Task, len(req.Devices))
	for i, d := range req.Devices {
		tasks[i] = taskengine.Task{ID: newTaskID(), Attempt: 1, Kind: taskkind.Onboard, Serial: d.Serial, Params: params}
		m.admins.put(tasks[i].ID, d) // before the engine may start it
	}
	recs, err := m.engine.SubmitAll(tasks)
	if err != nil {
		for _, t := range tasks[len(recs):] {
			m.admins.take(t.ID)
		}
		return linkapi.OnboardResponse{}, fmt.Errorf("fleet: onboard: %w", err)
	}
	resp := linkapi.OnboardResponse{Tasks: make([]linkapi.TaskReport, len(recs))}
	for i, r := range recs {
		resp.Tasks[i] = report(r)
	}
	return resp, nil
}

// onboard is the runner of onboarding tasks: it brings one device under management,
// reaching it with the admin account, checking it is the device asked for, then making
// the agent's own account (TakeOver).
func (m *Manager) onboard(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	var p onboardParams
	if err := json.Unmarshal(t.Params, &p); err != nil {
		return nil, fmt.Errorf("onboarding parameters: %w", err)
	}
	d, ok := m.admins.take(t.ID)
	if !ok {
		// The agent stopped since the task was asked for, and the admin account with it.
		// The device may have been taken over all the same, before the stop.
		if dev, err := m.cfg.Store.Device(t.Serial); err == nil && !dev.OnboardedAt.Before(p.Asked) && t.Resumed != nil {
			progress("managed with profile " + dev.Profile.Name + " (found so after a restart)")
			return nil, nil
		}
		return nil, errors.New(Interrupted)
	}
	found, ok := m.find(d.Serial)
	addr := found.Addr
	if !ok {
		if old, err := m.cfg.Store.Device(d.Serial); err == nil {
			addr = old.Address
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("device %s is not on this edge host's network (not discovered; add it by address first)", d.Serial)
	}
	progress("reaching " + addr + " with the admin account")
	admin, err := vapix.New(vapix.Config{BaseURL: "http://" + addr, User: d.Username, Password: d.Password, Timeout: m.cfg.Timeout, DialControl: m.cfg.DialControl})
	if err != nil {
		return nil, err
	}
	defer admin.CloseIdleConnections()
	info, err := admin.DeviceInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("device %s at %s: %w", d.Serial, addr, err)
	}
	if !strings.EqualFold(info.SerialNumber, d.Serial) {
		return nil, fmt.Errorf("the device at %s has serial %s, not %s", addr, info.SerialNumber, d.Serial)
	}
	now := m.cfg.Now().UTC()
	rec := devstore.Device{Serial: d.Serial, Address: addr, User: m.cfg.Account, Model: info.ProdNbr,
		Profile: p.Profile, Mode: ModeManaged, OnboardedAt: now, ManagedSince: now}
	_, err = TakeOver(ctx, m.cfg.Store, admin, rec, m.cfg.Timeout, m.cfg.Now)
	m.forgetConn(d.Serial)
	if err != nil {
		return nil, err
	}
	m.cfg.Logger.Info("device onboarded", "serial", d.Serial, "address", addr, "profile", p.Profile.Name)
	progress("managed with profile " + p.Profile.Name)
	// The inventory that shows the device is not due yet: the relay takes a device's
	// report only once the device is its organization's, which this task's success makes
	// it, and that success is neither journaled nor reported before this returns.
	// TasksReported asks for the inventory once the relay has it.
	return nil, nil
}

// migrateTasks moves the onboarding tasks an older agent kept in the device store into
// the engine's journal, then drops them there. One that had not ended fails as
// interrupted (its admin account is gone), to be reported; one the relay had not
// acknowledged is reported. A crash between the two steps adopts them again at the next
// start, which changes nothing.
func (m *Manager) migrateTasks() error {
	old, err := m.cfg.Store.LegacyTasks()
	if err != nil {
		return err
	}
	now := m.cfg.Now().UTC()
	adopted := 0
	for _, t := range old {
		r := t.TaskReport
		if r.Attempt == 0 {
			r.Attempt = 1
		}
		rec := taskengine.Record{Task: taskengine.Task{ID: r.ID, Attempt: r.Attempt, Kind: r.Kind, Serial: r.Serial},
			State: r.State, Detail: r.Detail, Result: r.Result, Reported: t.Reported}
		for _, tr := range r.Transitions {
			if tr.Attempt == 0 {
				tr.Attempt = r.Attempt
			}
			rec.Transitions = append(rec.Transitions, taskengine.Transition(tr))
		}
		if !r.State.Final() {
			rec.State, rec.Detail, rec.Reported = taskstate.Failed, Interrupted, false
			rec.Transitions = append(rec.Transitions, taskengine.Transition{State: taskstate.Failed, At: now, Detail: Interrupted, Attempt: r.Attempt})
		}
		ok, err := m.engine.Adopt(rec)
		if err != nil {
			return fmt.Errorf("task %s of the device store: %w", r.ID, err)
		}
		if ok {
			adopted++
		}
	}
	if len(old) > 0 {
		m.cfg.Logger.Info("onboarding tasks moved from the device store to the task journal", "tasks", len(old), "new", adopted)
	}
	return m.cfg.Store.DropLegacyTasks()
}

func newTaskID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "tsk_" + hex.EncodeToString(b)
}
