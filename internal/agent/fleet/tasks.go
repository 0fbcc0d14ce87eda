package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/runners"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// openEngine starts the task engine with a runner for every task kind.
func (m *Manager) openEngine() error {
	if m.cfg.TasksJournal == "" {
		return nil
	}
	arts, err := runners.NewArtifacts(m.cfg.ArtifactDir, func() *http.Client { return m.relay.Load() })
	if err != nil {
		return err
	}
	run := runners.New(runners.Config{Devices: m, Artifacts: arts, RebootWait: m.cfg.RebootWait})
	run[taskkind.Onboard] = taskengine.RunnerFunc(m.onboard)
	e, err := taskengine.Open(taskengine.Config{
		Journal:     m.cfg.TasksJournal,
		Runners:     run,
		Concurrency: m.cfg.TaskConcurrency,
		OnChange:    m.notify,
		Logger:      m.cfg.Logger,
		Now:         m.cfg.Now,
	})
	if err != nil {
		return err
	}
	m.engine = e
	if err := m.migrateTasks(); err != nil {
		_ = e.Close()
		m.engine = nil
		return fmt.Errorf("move the device store's tasks to the task journal: %w", err)
	}
	return nil
}

// UseRelay gives the manager the link's client to the relay (for release files).
func (m *Manager) UseRelay(hc *http.Client) { m.relay.Store(hc) }

// relayClient holds the link's client.
type relayClient = atomic.Pointer[http.Client]

// RunTasks takes tasks from the task manager: each is journaled before the answer, and a
// task given twice (same ID and attempt) runs once.
func (m *Manager) RunTasks(tasks []taskengine.Task) ([]taskengine.Record, error) {
	if m.engine == nil {
		return nil, errors.New("fleet: this agent runs no tasks")
	}
	for _, t := range tasks {
		if t.Kind == taskkind.Onboard { // made by Onboard only, with its credentials
			return nil, fmt.Errorf("fleet: task %s: %w %q", t.ID, taskengine.ErrUnknownKind, t.Kind)
		}
	}
	return m.engine.SubmitAll(tasks)
}

// CancelTasks cancels tasks the engine holds; unknown IDs are ignored.
func (m *Manager) CancelTasks(ids []string) error {
	if m.engine == nil {
		return nil
	}
	for _, id := range ids {
		m.admins.take(id) // an onboarding cancelled before it started needs them no more
		if err := m.engine.Cancel(id); err != nil && !errors.Is(err, taskengine.ErrNotFound) {
			return err
		}
	}
	return nil
}

// PendingTasks lists task states the relay has not acknowledged.
func (m *Manager) PendingTasks() ([]linkapi.TaskReport, error) {
	if m.engine == nil {
		return nil, nil
	}
	recs, err := m.engine.Unreported()
	if err != nil {
		return nil, err
	}
	out := make([]linkapi.TaskReport, 0, len(recs))
	for _, r := range recs {
		out = append(out, report(r))
	}
	return out, nil
}

// TasksReported records the relay's acknowledgement of reports. A succeeded onboarding
// among them makes the inventory due (InventoryChanged): the relay has recorded the
// success, which makes the device its organization's under this agent, so the report
// that follows is the first it takes for the device. Sent any earlier (when the runner
// ends, before the engine has even journaled the success), the relay ignores the
// device's report, and the device shows connected only after the next periodic report.
func (m *Manager) TasksReported(reports []linkapi.TaskReport) error {
	if m.engine == nil {
		return nil
	}
	recs := make([]taskengine.Record, 0, len(reports))
	onboarded := false
	for _, r := range reports {
		recs = append(recs, taskengine.Record{Task: taskengine.Task{ID: r.ID, Attempt: r.Attempt}, Transitions: make([]taskengine.Transition, len(r.Transitions))})
		onboarded = onboarded || r.Kind == taskkind.Onboard && r.State == taskstate.Succeeded
	}
	err := m.engine.MarkReported(recs)
	if onboarded {
		m.inventoryDue()
	}
	return err
}

// report is an engine record as the link carries it.
func report(r taskengine.Record) linkapi.TaskReport {
	trs := make([]linkapi.Transition, len(r.Transitions))
	for i, t := range r.Transitions {
		trs[i] = linkapi.Transition(t)
	}
	out := linkapi.TaskReport{ID: r.ID, Attempt: r.Attempt, Kind: r.Kind, Serial: r.Serial, State: r.State,
		Detail: r.Detail, Result: r.Result, Transitions: trs}
	if strings.HasPrefix(r.ID, localTaskPrefix) || r.Kind == taskkind.Onboard {
		out.CreatedBy = "agent"
	}
	return out
}

// Client is a VAPIX client with the agent's account on a managed device, at its
// current address (runners.Devices).
func (m *Manager) Client(_ context.Context, serial string) (*vapix.Client, error) {
	d, err := m.cfg.Store.Device(serial)
	if errors.Is(err, devstore.ErrNotFound) {
		return nil, fmt.Errorf("device %s is not managed by this agent", serial)
	}
	if err != nil {
		return nil, err
	}
	return m.client(d, m.addr(d))
}

// SetPassword stores a new password of the agent's account (account.Store).
func (m *Manager) SetPassword(serial, password string, pending bool) error {
	if err := m.cfg.Store.SetPassword(serial, password, pending); err != nil {
		return err
	}
	if !pending { // a pending password leaves the current one, and the connection, as they are
		m.forgetConn(serial)
	}
	return nil
}

// Passwords are the agent's confirmed and pending passwords on a device (account.Store).
func (m *Manager) Passwords(serial string) (current, pending string, err error) {
	d, err := m.cfg.Store.Device(serial)
	if err != nil {
		return "", "", err
	}
	if current, err = m.cfg.Store.Password(d); err != nil {
		return "", "", err
	}
	pending, err = m.cfg.Store.Pending(d)
	return current, pending, err
}
