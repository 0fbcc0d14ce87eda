package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// ModeManaged is the mode a device gets when onboarded.
const ModeManaged = "managed"

// MaxOnboard bounds the devices of one onboarding request.
const MaxOnboard = 1000

// Onboard starts one onboarding task per device and returns them as queued; they run in
// the background (at most Config.Concurrency at once) and report each transition. ctx is
// the request's: the tasks keep its values but outlive it, until Run ends.
func (m *Manager) Onboard(ctx context.Context, req linkapi.OnboardRequest) (linkapi.OnboardResponse, error) {
	m.mu.Lock()
	running := m.running
	if running {
		m.wg.Add(len(req.Devices)) // under mu: Run waits for these once it stops
	}
	m.mu.Unlock()
	if !running {
		return linkapi.OnboardResponse{}, errors.New("fleet: not running")
	}
	started := 0
	defer func() { m.wg.Add(started - len(req.Devices)) }() // the tasks not started
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
	var resp linkapi.OnboardResponse
	for _, d := range req.Devices {
		t := &task{m: m, r: linkapi.TaskReport{ID: newTaskID(), Kind: "onboard", Serial: d.Serial, CreatedBy: "agent"}}
		if err := t.move(linkapi.TaskQueued, ""); err != nil {
			return resp, err
		}
		resp.Tasks = append(resp.Tasks, t.r)
		started++
		go func() {
			defer m.wg.Done()
			tctx, cancel := m.untilStopped(ctx)
			defer cancel()
			select {
			case m.sem <- struct{}{}:
			case <-m.stopped:
				return // FailInterrupted ends it at the next start
			}
			defer func() { <-m.sem }()
			m.onboardOne(tctx, t, d, req.Profile)
		}()
	}
	return resp, nil
}

// untilStopped is ctx without its end: it ends when Run stops instead, or when cancel is
// called. The caller holds a count of m.wg, so the goroutine that watches Run is counted
// there too and Run waits for it.
func (m *Manager) untilStopped(ctx context.Context) (context.Context, context.CancelFunc) {
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.wg.Go(func() {
		select {
		case <-m.stopped:
			cancel()
		case <-tctx.Done():
		}
	})
	return tctx, cancel
}

// onboardOne brings one device under management: reach it with the admin account and
// check it is the device asked for, then make the agent's own account (TakeOver).
func (m *Manager) onboardOne(ctx context.Context, t *task, d linkapi.OnboardDevice, p profile.Profile) {
	fail := func(format string, args ...any) {
		detail := fmt.Sprintf(format, args...)
		m.cfg.Logger.Warn("onboarding failed", "serial", d.Serial, "task", t.r.ID, "detail", detail)
		_ = t.move(linkapi.TaskFailed, detail)
	}
	found, ok := m.find(d.Serial)
	addr := found.Addr
	if !ok {
		if old, err := m.cfg.Store.Device(d.Serial); err == nil {
			addr = old.Address
		}
	}
	if addr == "" {
		fail("device %s is not on this edge host's network (not discovered; add it by address first)", d.Serial)
		return
	}
	if err := t.move(linkapi.TaskRunning, "reaching "+addr+" with the admin account"); err != nil {
		return
	}
	admin, err := vapix.New(vapix.Config{BaseURL: "http://" + addr, User: d.Username, Password: d.Password, Timeout: m.cfg.Timeout, DialControl: m.cfg.DialControl})
	if err != nil {
		fail("%v", err)
		return
	}
	defer admin.CloseIdleConnections()
	info, err := admin.DeviceInfo(ctx)
	if err != nil {
		fail("device %s at %s: %v", d.Serial, addr, err)
		return
	}
	if !strings.EqualFold(info.SerialNumber, d.Serial) {
		fail("the device at %s has serial %s, not %s", addr, info.SerialNumber, d.Serial)
		return
	}
	now := m.cfg.Now().UTC()
	rec := devstore.Device{Serial: d.Serial, Address: addr, User: m.cfg.Account, Model: info.ProdNbr,
		Profile: p, Mode: ModeManaged, OnboardedAt: now, ManagedSince: now}
	_, err = TakeOver(ctx, m.cfg.Store, admin, rec, m.cfg.Timeout, m.cfg.Now)
	m.forgetConn(d.Serial)
	if err != nil {
		fail("%v", err)
		return
	}
	m.cfg.Logger.Info("device onboarded", "serial", d.Serial, "address", addr, "profile", p.Name)
	_ = t.move(linkapi.TaskSucceeded, "managed with profile "+p.Name)
	select {
	case m.inventory <- struct{}{}:
	default:
	}
}

// task is a running task: each transition is journaled before the work it announces.
type task struct {
	m *Manager
	r linkapi.TaskReport
}

func (t *task) move(state, detail string) error {
	t.r.State, t.r.Detail = state, detail
	t.r.Transitions = append(t.r.Transitions, linkapi.Transition{State: state, At: t.m.cfg.Now().UTC(), Detail: detail})
	if err := t.m.cfg.Store.PutTask(t.r); err != nil {
		t.m.cfg.Logger.Error("journal task", "task", t.r.ID, "err", err)
		return err
	}
	t.m.notify()
	return nil
}

func newTaskID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "tsk_" + hex.EncodeToString(b)
}
