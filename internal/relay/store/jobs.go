package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Job states.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded" // every task succeeded
	JobFailed    = "failed"    // every task ended, some not well
	JobAborted   = "aborted"   // the abort rule stopped new starts
	JobCancelled = "cancelled"
)

// Policy is how a job rolls out.
type Policy struct {
	MaxInFlight  int `json:"maxInFlight"`  // tasks dispatched and not ended at once
	MaxPerMinute int `json:"maxPerMinute"` // tasks started in any minute; 0: no limit
	// Window, when set, is the maintenance window new tasks start in (UTC).
	Window *Window `json:"window,omitempty"`
	// AbortCount and AbortPercent: stop starting new tasks once this many, or this share
	// of all, have failed for good; 0: no such rule.
	AbortCount   int     `json:"abortCount,omitempty"`
	AbortPercent float64 `json:"abortPercent,omitempty"`
}

// Window is a daily time window, "HH:MM" to "HH:MM" UTC; it may wrap past midnight.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Retry is how often a failed task is tried and how long to wait in between.
type Retry struct {
	MaxAttempts    int `json:"maxAttempts"`    // 1: no retry
	BackoffSeconds int `json:"backoffSeconds"` // before the next attempt
}

// Job is a set of tasks of one kind over a selection of devices, rolled out by a policy.
type Job struct {
	ID        string          `json:"id"`
	Org       string          `json:"org"`
	Kind      string          `json:"kind"`
	Params    json.RawMessage `json:"params,omitempty"`
	Selection json.RawMessage `json:"selection,omitempty"` // as asked: devices, group or all
	Policy    Policy          `json:"policy"`
	Retry     Retry           `json:"retry"`
	NotBefore time.Time       `json:"notBefore,omitzero"`
	Deadline  time.Time       `json:"deadline,omitzero"`
	CreatedBy string          `json:"createdBy"`
	CreatedAt time.Time       `json:"createdAt"`
	State     string          `json:"state"`
	// Reason says why a job was aborted or cancelled.
	Reason     string    `json:"reason,omitempty"`
	Cancelled  bool      `json:"cancelled,omitempty"` // cancel asked; tasks are being cancelled
	Aborted    bool      `json:"aborted,omitempty"`   // the abort rule fired
	Tasks      int       `json:"tasks"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// CreateJob stores a job and its tasks (queued) in one transaction.
func (s *Store) CreateJob(ctx context.Context, j Job, tasks []Task) (Job, error) {
	now := s.now().UTC()
	j.ID, j.CreatedAt, j.State, j.Tasks = newID(prefixJob), now, JobRunning, len(tasks)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(j.Org)) == nil {
			return ErrNotFound
		}
		jt := tx.Bucket(bucketJobTasks)
		for i := range tasks {
			t := &tasks[i]
			t.ID, t.JobID, t.Org, t.Attempt, t.CreatedBy, t.Seq = newID(prefixTask), j.ID, j.Org, 1, j.CreatedBy, i
			if err := t.Move(taskstate.Queued, "", now); err != nil {
				return err
			}
			if err := putTask(tx, *t); err != nil {
				return err
			}
			if err := jt.Put(pair(j.ID, t.ID), present); err != nil {
				return err
			}
		}
		if err := putJSON(tx.Bucket(bucketJobs), pair(j.Org, j.ID), j); err != nil {
			return err
		}
		return tx.Bucket(bucketActiveJobs).Put(pair(j.Org, j.ID), present)
	})
	return j, err
}

// Job returns a job of an organization.
func (s *Store) Job(ctx context.Context, org, id string) (Job, error) {
	var j Job
	err := s.view(ctx, func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketJobs), pair(org, id), &j) })
	return j, err
}

// Jobs lists an organization's jobs, newest first, up to limit, after cursor (empty:
// from the newest). next is the cursor of the following page, empty on the last one. A
// cursor is opaque to callers.
func (s *Store) Jobs(ctx context.Context, org, cursor string, limit int) (_ []Job, next string, _ error) {
	var after struct {
		at time.Time
		id string
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		at, id, ok := strings.Cut(string(raw), " ")
		if err != nil || !ok {
			return nil, "", ErrBadCursor
		}
		if after.at, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, "", ErrBadCursor
		}
		after.id = id
	}
	// Newest first; jobs made in the same instant by ID, so the order is total.
	order := func(a, b Job) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	}
	limit = max(limit, 1)
	out := []Job{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		prefix := prefixOf(org)
		var all []Job
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			if cursor == "" || order(Job{CreatedAt: after.at, ID: after.id}, j) < 0 {
				all = append(all, j)
			}
		}
		slices.SortFunc(all, order)
		out = append(out, all[:min(limit, len(all))]...)
		if len(all) > limit {
			last := out[len(out)-1]
			next = base64.RawURLEncoding.EncodeToString([]byte(last.CreatedAt.UTC().Format(time.RFC3339Nano) + " " + last.ID))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	return out, next, nil
}

// UpdateJob changes a job through fn; a job that fn ends (State not running) leaves the
// active list.
func (s *Store) UpdateJob(ctx context.Context, org, id string, fn func(*Job) error) (Job, error) {
	var j Job
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if err := getJSON(b, pair(org, id), &j); err != nil {
			return err
		}
		if err := fn(&j); err != nil {
			return err
		}
		if j.State != JobRunning {
			if err := tx.Bucket(bucketActiveJobs).Delete(pair(org, id)); err != nil {
				return err
			}
		}
		return putJSON(b, pair(org, id), j)
	})
	return j, err
}

// ActiveJobs lists the jobs of every organization that have not ended.
func (s *Store) ActiveJobs(ctx context.Context) ([]Job, error) {
	var out []Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		return tx.Bucket(bucketActiveJobs).ForEach(func(k, _ []byte) error {
			var j Job
			if err := getJSON(jobs, k, &j); err != nil {
				return err
			}
			out = append(out, j)
			return nil
		})
	})
	return out, err
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}
