// Package taskmgr is the relay's task manager: it rolls out each job's tasks to the
// agents that manage the devices, as the job's policy allows (tasks in flight, starts per
// minute, maintenance window, abort rule), retries failed attempts as the retry policy
// says, and ends jobs. Everything it decides is in the store first, so a relay restart
// resumes where it was; agents deduplicate tasks by ID and attempt, so a task given twice
// runs once.
package taskmgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Config is what a Manager needs.
type Config struct {
	Store *store.Store // required
	// Agents reaches agents over their links (edgelink.Relay.Transport).
	Agents http.RoundTripper // required
	// Wakeup is what makes the manager look at the jobs at once (Wake); the parts that
	// report changes may hold it before the manager exists. nil: the manager's own.
	Wakeup Wakeup
	// Tick is how often jobs are looked at without a wake-up (default 250 ms).
	Tick time.Duration
	// Redispatch: a task dispatched this long ago without word from its agent is given
	// to the agent again (default 60 s; the agent runs it once either way).
	Redispatch time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Manager runs the jobs.
type Manager struct {
	cfg    Config
	client *http.Client // to agents over their links
	log    *slog.Logger
	wake   Wakeup
}

// Wakeup carries wake-ups to a Manager: a job was created or cancelled, an agent
// reported, an agent connected. It is made apart from the Manager because the agent
// links report to it and the Manager reaches agents over those links.
type Wakeup chan struct{}

// NewWakeup makes a Wakeup for Config.Wakeup.
func NewWakeup() Wakeup { return make(Wakeup, 1) }

// Wake makes the manager look at the jobs now; wake-ups that come while one is pending
// are one.
func (w Wakeup) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// New makes a Manager; Run drives it.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Agents == nil {
		return nil, errors.New("taskmgr: Config.Store and Config.Agents are required")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.Redispatch <= 0 {
		cfg.Redispatch = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wakeup == nil {
		cfg.Wakeup = NewWakeup()
	}
	client := &http.Client{Transport: cfg.Agents, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Manager{cfg: cfg, client: client, log: cfg.Logger.With("component", "taskmgr"), wake: cfg.Wakeup}, nil
}

// Wake makes the manager look at the jobs now (a job was created or cancelled, an agent
// reported, an agent connected).
func (m *Manager) Wake() { m.wake.Wake() }

// Run advances every active job until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Tick)
	defer t.Stop()
	for {
		pass := time.Now()
		jobs, err := m.cfg.Store.ActiveJobs(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Error("list active jobs", "err", err)
		}
		for _, j := range jobs {
			if err := m.advance(ctx, j); err != nil && ctx.Err() == nil {
				m.log.Error("advance job", "job", j.ID, "err", err)
			}
		}
		took := time.Since(pass)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.wake:
			// Reports come in bursts: one pass serves a burst. A pass reads every task of
			// the active jobs, so passes start at least minGap apart, and at least twice
			// a pass's duration apart: big jobs take at most half a core.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(max(minGap, 2*took) - time.Since(pass)):
			}
		}
	}
}

// move moves a task, which the pass found in a state it may leave that way; a move the
// table of task states refuses is logged and leaves the task as it is, the other tasks
// of the update going ahead.
func (m *Manager) move(t *store.Task, to taskstate.State, detail string, now time.Time) error {
	if err := t.Move(to, detail, now); err != nil {
		m.log.Error("task move refused", "task", t.ID, "job", t.JobID, "err", err)
	}
	return nil
}

// minGap spaces passes that wake-ups start.
const minGap = 20 * time.Millisecond

// inFlight are the states of a task given to an agent and not ended.
func inFlight(state taskstate.State) bool {
	return state == taskstate.Dispatched || state == taskstate.Accepted || state == taskstate.Running
}

// advance takes one step of a job: retries, cancellation, the abort rule, new starts
// within the policy, and the job's end.
func (m *Manager) advance(ctx context.Context, j store.Job) error {
	st := m.cfg.Store
	tasks, err := st.Tasks(ctx, j.Org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30)
	if err != nil {
		return err
	}
	now := m.cfg.Now().UTC()
	// Failed attempts that may be retried are queued again, after the backoff.
	var retry []string
	for _, t := range tasks {
		if t.State == taskstate.Failed && t.Attempt < t.MaxAttempts && !j.Cancelled && !j.Aborted {
			retry = append(retry, t.ID)
		}
	}
	err = m.updateTasks(ctx, j.Org, tasks, retry, func(t *store.Task) error {
		if t.State != taskstate.Failed || t.Attempt >= t.MaxAttempts {
			return nil
		}
		detail := t.Detail
		t.Attempt++
		// DispatchedAt stays: the failed attempt's start still counts for maxPerMinute.
		t.NotBefore, t.CancelSent = now.Add(t.Backoff), false
		return m.move(t, taskstate.Queued, fmt.Sprintf("retry %d of %d after: %s", t.Attempt-1, t.MaxAttempts-1, detail), now)
	})
	if err != nil {
		return err
	}
	failed := 0
	for _, t := range tasks {
		if t.State == taskstate.Failed || t.State == taskstate.Expired {
			failed++ // for good: retries were queued above
		}
	}
	// The abort rule.
	if !j.Aborted && !j.Cancelled && aborts(j.Policy, failed, len(tasks)) {
		reason := fmt.Sprintf("abort rule: %d of %d tasks failed", failed, len(tasks))
		if j, err = st.UpdateJob(ctx, j.Org, j.ID, func(j *store.Job) error { j.Aborted, j.Reason = true, reason; return nil }); err != nil {
			return err
		}
		m.log.Warn("job aborted", "job", j.ID, "reason", reason)
	}
	if j.Cancelled || j.Aborted {
		why := "job aborted: " + j.Reason
		if j.Cancelled {
			why = "job cancelled"
		}
		if err := m.stopTasks(ctx, j, tasks, why, j.Cancelled, now); err != nil {
			return err
		}
		return m.finishIfDone(ctx, j, nil)
	}
	// Expired and redispatched: the silent tasks go in one dispatch, which makes one
	// request per agent, all at once (one request per task, up to call's timeout each,
	// would hold every job for as long per silent task).
	var expired []string
	var silent []store.Task
	for _, t := range tasks {
		switch {
		case t.State == taskstate.Queued && !t.Deadline.IsZero() && now.After(t.Deadline):
			expired = append(expired, t.ID)
		case t.State == taskstate.Dispatched && now.Sub(t.DispatchedAt) > m.cfg.Redispatch:
			silent = append(silent, t)
		}
	}
	if len(silent) > 0 {
		m.dispatch(ctx, j, silent, now)
	}
	err = m.updateTasks(ctx, j.Org, tasks, expired, func(t *store.Task) error {
		if t.State != taskstate.Queued {
			return nil // its agent reported it since this pass read it
		}
		return m.move(t, taskstate.Expired, "the deadline passed before the task could start", now)
	})
	if err != nil {
		return err
	}
	// New starts, within the policy.
	if !inWindow(j.Policy.Window, now) || now.Before(j.NotBefore) {
		return m.finishIfDone(ctx, j, tasks)
	}
	active, lastMinute := 0, 0
	busy := map[string]bool{} // devices with a task given to their agent
	var queued []store.Task
	for _, t := range tasks {
		if inFlight(t.State) {
			active++
			busy[t.Serial] = true
		}
		if !t.DispatchedAt.IsZero() && now.Sub(t.DispatchedAt) < time.Minute {
			lastMinute++
		}
		if t.State == taskstate.Queued {
			queued = append(queued, t)
		}
	}
	// A device's tasks go one at a time, in the job's order (AXIS OS before settings).
	sort.Slice(queued, func(a, b int) bool {
		if queued[a].Serial != queued[b].Serial {
			return queued[a].Serial < queued[b].Serial
		}
		return queued[a].Seq < queued[b].Seq
	})
	var ready []store.Task
	for _, t := range queued {
		if busy[t.Serial] {
			continue
		}
		busy[t.Serial] = true // its next task waits even when this one is not due yet
		// A retry waits for its previous start to leave the minute: starts are counted by
		// each task's last one, so a task starts at most once in any minute.
		again := j.Policy.MaxPerMinute > 0 && t.Attempt > 1 && now.Sub(t.DispatchedAt) < time.Minute
		if !now.Before(t.NotBefore) && (t.Deadline.IsZero() || !now.After(t.Deadline)) && !again {
			ready = append(ready, t)
		}
	}
	room := j.Policy.MaxInFlight - active
	if j.Policy.MaxPerMinute > 0 {
		room = min(room, j.Policy.MaxPerMinute-lastMinute)
	}
	if room > 0 && len(ready) > 0 {
		give, err := m.stillManaged(ctx, j, tasks, ready, room, now)
		if err != nil {
			return err
		}
		m.dispatch(ctx, j, give, now)
	}
	return m.finishIfDone(ctx, j, tasks)
}

// noLongerManaged is the detail of a profile task cancelled because its device left
// managed mode before the task could start.
const noLongerManaged = "the device is no longer managed"

// stillManaged picks, of the tasks ready to start, up to room to give to the agents. A
// profile job's tasks were made for devices that were managed then, but the job may wait
// hours for its maintenance window: a device that has since dropped to connected (it
// drifted) or standalone must be changed only on request, so its queued tasks in the job
// are cancelled instead. Each task about to start costs one read of its device; other
// jobs' tasks were asked for and go as they are.
func (m *Manager) stillManaged(ctx context.Context, j store.Job, tasks, ready []store.Task, room int, now time.Time) ([]store.Task, error) {
	if j.CreatedBy != EnforcedBy {
		return ready[:min(room, len(ready))], nil
	}
	var give []store.Task
	left := map[string]bool{} // serials
	for _, t := range ready {
		if len(give) == room {
			break
		}
		d, err := m.cfg.Store.Device(ctx, j.Org, t.Serial)
		switch {
		case err == nil && d.EffectiveMode() == store.ModeManaged:
			give = append(give, t)
		case err == nil || errors.Is(err, store.ErrNotFound):
			left[t.Serial] = true
		default:
			return nil, fmt.Errorf("device %s of profile task %s: %w", t.Serial, t.ID, err)
		}
	}
	if len(left) == 0 {
		return give, nil
	}
	var ids []string
	for _, t := range tasks {
		if t.State == taskstate.Queued && left[t.Serial] {
			ids = append(ids, t.ID)
		}
	}
	err := m.updateTasks(ctx, j.Org, tasks, ids, func(t *store.Task) error {
		if t.State == taskstate.Queued {
			return m.move(t, taskstate.Cancelled, noLongerManaged, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.log.Info("profile tasks cancelled: devices no longer managed", "job", j.ID, "devices", len(left), "tasks", len(ids))
	return give, nil
}

// updateTasks changes the tasks named by ids through fn, all in one transaction (one per
// task costs a batch delay and a sync each: seconds per thousand tasks, which every other
// job waits for), and puts them in tasks as they are now, without their transitions. fn
// sees each task as stored, which an agent's report may have changed since the pass read
// it: it must look at the task's state again.
func (m *Manager) updateTasks(ctx context.Context, org string, tasks []store.Task, ids []string, fn func(*store.Task) error) error {
	if len(ids) == 0 {
		return nil
	}
	changed := make(map[string]store.Task, len(ids))
	err := m.cfg.Store.UpdateTasks(ctx, org, ids, func(t *store.Task) error {
		if err := fn(t); err != nil {
			return err
		}
		c := *t
		c.Transitions = nil
		changed[c.ID] = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("update %d tasks: %w", len(ids), err)
	}
	for i, t := range tasks {
		if c, ok := changed[t.ID]; ok {
			tasks[i] = c
		}
	}
	return nil
}

func aborts(p store.Policy, failed, total int) bool {
	if failed == 0 || total == 0 {
		return false
	}
	return p.AbortCount > 0 && failed >= p.AbortCount ||
		p.AbortPercent > 0 && float64(failed)*100 >= p.AbortPercent*float64(total)
}

// inWindow reports whether now is inside the daily window (none: always).
func inWindow(w *store.Window, now time.Time) bool {
	if w == nil {
		return true
	}
	start, err1 := time.Parse("15:04", w.Start)
	end, err2 := time.Parse("15:04", w.End)
	if err1 != nil || err2 != nil {
		return false
	}
	minute := now.Hour()*60 + now.Minute()
	s, e := start.Hour()*60+start.Minute(), end.Hour()*60+end.Minute()
	if s <= e {
		return minute >= s && minute < e
	}
	return minute >= s || minute < e // wraps past midnight
}

// stopTasks ends what has not started (queued: cancelled) and, when cancelling, asks the
// agents to cancel what they hold.
func (m *Manager) stopTasks(ctx context.Context, j store.Job, tasks []store.Task, why string, cancelRunning bool, now time.Time) error {
	byAgent := map[string][]string{}
	var queued []string
	for _, t := range tasks {
		switch {
		case t.State == taskstate.Queued:
			queued = append(queued, t.ID)
		case cancelRunning && inFlight(t.State) && !t.CancelSent:
			byAgent[t.EdgeHost] = append(byAgent[t.EdgeHost], t.ID)
		}
	}
	err := m.updateTasks(ctx, j.Org, tasks, queued, func(t *store.Task) error {
		if t.State == taskstate.Queued {
			return m.move(t, taskstate.Cancelled, why, now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The agents at once: one that does not answer must not hold up the others.
	var (
		mu   sync.Mutex
		sent []string
		wg   sync.WaitGroup
	)
	for agent, ids := range byAgent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.call(ctx, agent, linkapi.CancelTasksPath, ids, nil); err != nil {
				m.log.Info("cancel tasks at the agent", "agent", agent, "err", err)
				return // tried again next time
			}
			mu.Lock()
			sent = append(sent, ids...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return m.updateTasks(ctx, j.Org, tasks, sent, func(t *store.Task) error { t.CancelSent = true; return nil })
}

// dispatch gives tasks to their agents, each agent's in one request, the agents at once.
// A task an agent took becomes dispatched; one whose agent is offline stays queued. The
// attempt given is recorded as started (DispatchedAt) even when the agent's report of it
// came first, as it often does: maxPerMinute counts starts by it.
func (m *Manager) dispatch(ctx context.Context, j store.Job, tasks []store.Task, now time.Time) {
	byAgent := map[string][]store.Task{}
	for _, t := range tasks {
		byAgent[t.EdgeHost] = append(byAgent[t.EdgeHost], t)
	}
	var wg sync.WaitGroup
	for agent, ts := range byAgent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := make([]taskengine.Task, 0, len(ts))
			for _, t := range ts {
				run = append(run, taskengine.Task{ID: t.ID, Attempt: t.Attempt, Kind: t.Kind, Serial: t.Serial, Params: t.Params, Deadline: t.Deadline})
			}
			if err := m.call(ctx, agent, linkapi.RunTasksPath, run, nil); err != nil {
				if !errors.Is(err, edgelink.ErrAgentOffline) {
					m.log.Warn("dispatch", "job", j.ID, "agent", agent, "tasks", len(ts), "err", err)
				}
				return
			}
			ids := make([]string, len(ts))
			given := make(map[string]int, len(ts)) // task ID -> attempt
			for i, t := range ts {
				ids[i], given[t.ID] = t.ID, t.Attempt
			}
			err := m.cfg.Store.UpdateTasks(ctx, j.Org, ids, func(t *store.Task) error {
				if t.Attempt != given[t.ID] {
					return nil
				}
				t.DispatchedAt = now
				if t.State == taskstate.Queued {
					return m.move(t, taskstate.Dispatched, "", now)
				}
				return nil
			})
			if err != nil {
				m.log.Error("record dispatch", "job", j.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// finishIfDone ends a job whose tasks all ended: tasks as advance left them, or nil to
// read them again.
func (m *Manager) finishIfDone(ctx context.Context, j store.Job, tasks []store.Task) error {
	var err error
	if tasks == nil {
		if tasks, err = m.cfg.Store.Tasks(ctx, j.Org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30); err != nil {
			return err
		}
	}
	allOK := true
	for _, t := range tasks {
		retry := t.State == taskstate.Failed && t.Attempt < t.MaxAttempts && !j.Cancelled && !j.Aborted
		if !t.State.Final() || retry {
			return nil
		}
		allOK = allOK && t.State == taskstate.Succeeded
	}
	now := m.cfg.Now().UTC()
	_, err = m.cfg.Store.UpdateJob(ctx, j.Org, j.ID, func(j *store.Job) error {
		switch {
		case j.Cancelled:
			j.State = store.JobCancelled
		case j.Aborted:
			j.State = store.JobAborted
		case allOK:
			j.State = store.JobSucceeded
		default:
			j.State = store.JobFailed
		}
		j.FinishedAt = now
		return nil
	})
	if err == nil {
		m.log.Info("job ended", "job", j.ID, "org", j.Org)
	}
	return err
}

// call makes a JSON request to an agent over its link.
func (m *Manager) call(ctx context.Context, agentID, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return linkapi.Call(ctx, m.client, http.MethodPost, "http://"+edgelink.AgentHost(agentID)+path, in, out)
}
