package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Task is a task as the relay knows it: what the task manager decided (queued,
// dispatched, retried) and what the agent reported (accepted, running, the result).
type Task struct {
	linkapi.TaskReport
	Org       string    `json:"org"`
	EdgeHost  string    `json:"edgeHost,omitempty"` // the agent that runs it
	UpdatedAt time.Time `json:"updatedAt"`

	// For tasks of a job (empty for tasks an agent created itself):
	JobID       string          `json:"jobId,omitempty"`
	Params      json.RawMessage `json:"params,omitempty"`
	MaxAttempts int             `json:"maxAttempts,omitempty"`
	Backoff     time.Duration   `json:"backoff,omitempty"`
	NotBefore   time.Time       `json:"notBefore,omitzero"`
	Deadline    time.Time       `json:"deadline,omitzero"`
	// DispatchedAt is when the task was last given to its agent: its current attempt's
	// (re)dispatch, or the previous attempt's until a retry is given.
	DispatchedAt time.Time `json:"dispatchedAt,omitzero"`
	// CancelSent records that the agent was asked to cancel the task.
	CancelSent bool `json:"cancelSent,omitempty"`
	// Seq orders the tasks of a job: a device's tasks run one after the other in it.
	Seq int `json:"seq,omitempty"`
	// OnboardBy, on an onboarding task the relay asked the edge host for, is who asked:
	// its success makes the device the organization's, under that edge host. An
	// onboarding the agent reports on its own moves nothing.
	OnboardBy string `json:"onboardBy,omitempty"`
}

// Move records a transition the task manager makes. A move the table of task states
// does not allow (taskstate.Check) is refused with a *taskstate.MoveError, the task
// unchanged.
func (t *Task) Move(state taskstate.State, detail string, at time.Time) error {
	if err := taskstate.Check(t.State, state); err != nil {
		return fmt.Errorf("task %s: %w", t.ID, err)
	}
	t.State, t.Detail, t.UpdatedAt = state, detail, at
	t.Transitions = append(t.Transitions, linkapi.Transition{State: state, At: at, Detail: detail, Attempt: t.Attempt})
	return nil
}

// merge takes an agent's report of the task's current attempt: its transitions are added
// (once each, however often the report comes) and its state becomes the task's. A report
// of an earlier attempt adds its transitions only. A report of the current attempt whose
// state the task may not move to (taskstate.Check) is refused with the error, the task
// unchanged.
func (t *Task) merge(r linkapi.TaskReport, now time.Time) (bool, error) {
	r = normalize(r)
	seen := map[linkapi.Transition]bool{}
	for _, tr := range t.Transitions {
		seen[tr] = true
	}
	var fresh []linkapi.Transition
	for _, tr := range r.Transitions {
		if !seen[tr] {
			seen[tr] = true
			fresh = append(fresh, tr)
		}
	}
	added := len(fresh) > 0
	if r.Attempt == t.Attempt && added {
		if err := taskstate.Check(t.State, r.State); err != nil {
			return false, err
		}
	}
	t.Transitions = append(t.Transitions, fresh...)
	if r.Attempt == t.Attempt && added {
		t.State, t.Detail = r.State, r.Detail
		if r.Result != nil {
			t.Result = r.Result
		}
	}
	if added {
		t.UpdatedAt = now
	}
	return added, nil
}

// normalize gives a report of an agent's own task (which has no attempts) attempt 1, and
// every transition its report's attempt.
func normalize(r linkapi.TaskReport) linkapi.TaskReport {
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	trs := make([]linkapi.Transition, len(r.Transitions))
	for i, tr := range r.Transitions {
		if tr.Attempt == 0 {
			tr.Attempt = r.Attempt
		}
		trs[i] = tr
	}
	r.Transitions = trs
	return r
}

// A task is stored in two parts: its record without transitions (small, read on every
// step of the task manager) and its transitions (read when someone looks at the task).

// storedTask is a Task without its transitions (the outer field hides the embedded one).
type storedTask struct {
	Task
	Transitions []linkapi.Transition `json:"transitions,omitempty"`
}

func putTask(tx *bolt.Tx, t Task) error {
	key := pair(t.Org, t.ID)
	if err := putJSON(tx.Bucket(bucketTasks), key, storedTask{Task: t}); err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketTaskLog), key, t.Transitions)
}

// getTask reads a task, with its transitions when log is set.
func getTask(tx *bolt.Tx, org, id string, log bool) (Task, error) {
	var st storedTask
	key := pair(org, id)
	if err := getJSON(tx.Bucket(bucketTasks), key, &st); err != nil {
		return Task{}, err
	}
	t := st.Task
	if log {
		if err := getJSON(tx.Bucket(bucketTaskLog), key, &t.Transitions); err != nil && err != ErrNotFound {
			return Task{}, err
		}
	}
	return t, nil
}

// readTask is getTask for readers: without its transitions, a task comes from the
// decode cache, since the task manager reads every task of a job on each pass and most
// of them have not changed since the last one. Its Params are shared with the cache.
func (s *Store) readTask(tx *bolt.Tx, org, id string, log bool) (Task, error) {
	if log {
		return getTask(tx, org, id, true)
	}
	st, err := s.tasks.get(tx.Bucket(bucketTasks), pair(org, id))
	return st.Task, err
}

// maxTaskTransitions bounds what one task keeps: its most recent transitions.
const maxTaskTransitions = 200

// Refused is a task report the store did not record: the move it asks for is not in the
// table of task states (an ended task reported running, a state nobody knows). The task
// stays as it was; the caller logs it.
type Refused struct {
	ID      string
	Attempt int
	Err     error // a *taskstate.MoveError
}

// PutTasks records task reports of an agent. Reports are deduplicated by task ID,
// attempt and transition: repeats after reconnects change nothing. A report of a task
// the relay does not have is a task the agent created itself (onboarding). Reports that
// ask for a move the task's state does not allow are not recorded, and returned.
//
// A report with a longer history than the relay keeps is recorded all the same, with its
// most recent transitions: the agent takes any report it sent as acknowledged, so one
// skipped here would leave the task in its last recorded state for good.
func (s *Store) PutTasks(ctx context.Context, org, agentID string, reports []linkapi.TaskReport) ([]Refused, error) {
	return s.putTaskReports(ctx, org, agentID, "", reports)
}

// PutOnboardTasks records the onboarding tasks an edge host answered an admin's request
// with (PutTasks), each marked with who asked (by), so that its success makes the device
// the organization's (OnboardDevice). The agent may have reported a task already.
//
// A report asking for a move its task's state does not allow is not recorded (see
// PutTasks), and returned.
func (s *Store) PutOnboardTasks(ctx context.Context, org, agentID, by string, reports []linkapi.TaskReport) ([]Refused, error) {
	onboard := make([]linkapi.TaskReport, 0, len(reports))
	for _, r := range reports {
		if r.Kind == taskkind.Onboard {
			onboard = append(onboard, r)
		}
	}
	return s.putTaskReports(ctx, org, agentID, by, onboard)
}

// putTaskReports merges reports of an agent in one transaction (PutTasks); by, when set,
// marks them as onboardings an admin asked for (PutOnboardTasks).
func (s *Store) putTaskReports(ctx context.Context, org, agentID, by string, reports []linkapi.TaskReport) ([]Refused, error) {
	now := s.now().UTC()
	var refused []Refused
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		refused = nil // batch may run this again
		for _, r := range reports {
			if r.ID == "" || strings.Contains(r.ID, "/") || len(r.ID) > 64 {
				continue
			}
			if n := len(r.Transitions); n > maxTaskTransitions {
				// Only these can be kept; the older ones, merged, would only displace
				// them again on every repeat of the report.
				r.Transitions = r.Transitions[n-maxTaskTransitions:]
			}
			bad, err := putTaskReport(tx, org, agentID, r, by, now)
			if err != nil {
				return err
			}
			if bad != nil {
				refused = append(refused, Refused{ID: r.ID, Attempt: r.Attempt, Err: bad})
			}
		}
		return nil
	})
	return refused, err
}

// putTaskReport merges one task report of an agent; onboardBy, when set, marks the task
// as an onboarding an admin asked for. An onboarding task so marked that reaches
// succeeded onboards its device (onboardDevice); one refused there is audited and the
// report recorded all the same. A report asking for a move the task's state does not
// allow is not recorded: refused says why, and err is nil.
func putTaskReport(tx *bolt.Tx, org, agentID string, r linkapi.TaskReport, onboardBy string, now time.Time) (refused, err error) {
	t, err := getTask(tx, org, r.ID, true)
	wasSucceeded := false
	switch {
	case err == ErrNotFound:
		if bad := taskstate.Check(taskstate.None, r.State); bad != nil {
			return bad, nil
		}
		t = Task{TaskReport: normalize(r), Org: org, EdgeHost: agentID, UpdatedAt: now}
	case err != nil:
		return nil, err
	case t.EdgeHost != agentID:
		return nil, nil // not this agent's task
	default:
		wasSucceeded = t.State == taskstate.Succeeded && t.OnboardBy != ""
		marked := onboardBy != "" && t.OnboardBy == ""
		added, bad := t.merge(r, now)
		if bad != nil {
			return bad, nil
		}
		if !added && !marked {
			return nil, nil
		}
	}
	if onboardBy != "" && t.OnboardBy == "" && t.Kind == taskkind.Onboard && t.CreatedBy == "agent" {
		t.OnboardBy = onboardBy
	}
	if len(t.Transitions) > maxTaskTransitions {
		t.Transitions = t.Transitions[len(t.Transitions)-maxTaskTransitions:]
	}
	if err := putTask(tx, t); err != nil {
		return nil, err
	}
	if err := applyFirmwareResult(tx, org, agentID, t); err != nil {
		return nil, err
	}
	if t.OnboardBy == "" || t.Kind != taskkind.Onboard || t.State != taskstate.Succeeded || wasSucceeded {
		return nil, nil
	}
	switch _, err := onboardDevice(tx, org, agentID, t.Serial, t.OnboardBy, now); {
	case errors.Is(err, ErrClaimedElsewhere):
		return nil, appendAuditTx(tx, AuditEntry{At: now, Org: org, Principal: t.OnboardBy, Action: AuditDeviceProven, Serial: t.Serial,
			Status: 409, Detail: "onboarding through edge host " + agentID + " succeeded, but another organization proved the device is its own first"})
	case err != nil && !errors.Is(err, ErrBadSerial):
		return nil, err
	}
	return nil, nil
}

// applyFirmwareResult puts the AXIS OS version a succeeded firmware task reports into
// its device's record at once: the inventory would otherwise show the old version until
// the agent's next poll of the device, which can be a minute later. Only the agent that
// manages the device changes it, as with its inventory reports.
func applyFirmwareResult(tx *bolt.Tx, org, agentID string, t Task) error {
	if t.Kind != taskkind.Firmware || t.State != taskstate.Succeeded || len(t.Result) == 0 {
		return nil
	}
	var res struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(t.Result, &res) != nil || res.Version == "" {
		return nil
	}
	serial, err := NormalizeSerial(t.Serial)
	if err != nil {
		return nil
	}
	var d Device
	switch err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if !d.Proven || d.EdgeHost != agentID && d.AgentID != agentID || d.FirmwareVersion == res.Version {
		return nil
	}
	d.FirmwareVersion = res.Version
	// The difference to the profile no longer holds the upgrade just done.
	d.Diff = slices.DeleteFunc(slices.Clone(d.Diff), func(c profile.Change) bool { return c.Kind == "os" && c.Want == res.Version })
	return putDevice(tx, d)
}

// UpdateTask changes a task through fn (which may run more than once: see batch).
func (s *Store) UpdateTask(ctx context.Context, org, id string, fn func(*Task) error) (Task, error) {
	var t Task
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		if t, err = getTask(tx, org, id, true); err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		return putTask(tx, t)
	})
	return t, err
}

// UpdateTasks changes several tasks through fn in one transaction; tasks that no longer
// exist are skipped.
func (s *Store) UpdateTasks(ctx context.Context, org string, ids []string, fn func(*Task) error) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, id := range ids {
			t, err := getTask(tx, org, id, true)
			if err == ErrNotFound {
				continue
			} else if err != nil {
				return err
			}
			if err := fn(&t); err != nil {
				return err
			}
			if err := putTask(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// failAgentTasks ends the tasks of org's running jobs that agentID holds or would be
// given, when the agent is deleted: nothing would ever run, report or cancel them, and
// their jobs would never end. They fail for good (no attempt is left: a retry would wait
// for the agent as well), with detail as the reason.
func failAgentTasks(tx *bolt.Tx, org, agentID, detail string, now time.Time) error {
	var ids []string
	jobTasks := tx.Bucket(bucketJobTasks)
	err := scanPrefix(tx.Bucket(bucketActiveJobs), prefixOf(org), nil, func(k, _ []byte) (bool, error) {
		job := string(k[len(org)+1:])
		return true, scanPrefix(jobTasks, prefixOf(job), nil, func(k, _ []byte) (bool, error) {
			ids = append(ids, string(k[len(job)+1:]))
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		t, err := getTask(tx, org, id, true)
		if err == ErrNotFound {
			continue
		} else if err != nil {
			return err
		}
		retry := t.State == taskstate.Failed && t.Attempt < t.MaxAttempts
		if ended := t.State.Final() && !retry; t.EdgeHost != agentID || ended {
			continue
		}
		t.MaxAttempts = t.Attempt
		if err := t.Move(taskstate.Failed, detail, now); err != nil {
			return err
		}
		if err := putTask(tx, t); err != nil {
			return err
		}
	}
	return nil
}

// Task returns a task of an organization.
func (s *Store) Task(ctx context.Context, org, id string) (Task, error) {
	var t Task
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		t, err = getTask(tx, org, id, true)
		return err
	})
	return t, err
}

// TaskFilter selects tasks; empty fields match everything.
type TaskFilter struct {
	Serial, Kind, JobID string
	State               taskstate.State
	// NoTransitions leaves the transitions out, for readers that do not need them.
	NoTransitions bool
}

func (f TaskFilter) match(t Task) bool {
	return (f.Serial == "" || strings.EqualFold(t.Serial, f.Serial)) && (f.State == "" || t.State == f.State) &&
		(f.Kind == "" || t.Kind == f.Kind) && (f.JobID == "" || t.JobID == f.JobID)
}

// Tasks lists an organization's tasks matching f, up to limit, by ID.
func (s *Store) Tasks(ctx context.Context, org string, f TaskFilter, limit int) ([]Task, error) {
	out := []Task{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		visit := func(id string) (bool, error) {
			t, err := s.readTask(tx, org, id, !f.NoTransitions)
			if err != nil {
				return false, err
			}
			if f.match(t) {
				out = append(out, t)
			}
			return len(out) < limit, nil
		}
		if f.JobID != "" {
			return scanPrefix(tx.Bucket(bucketJobTasks), prefixOf(f.JobID), nil, func(k, _ []byte) (bool, error) {
				return visit(string(k[len(f.JobID)+1:]))
			})
		}
		return scanPrefix(tx.Bucket(bucketTasks), prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			return visit(string(k[len(org)+1:]))
		})
	})
	return out, err
}
