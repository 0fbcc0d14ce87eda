package store

import (
	"context"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// Task is a task as the relay knows it: the agent's latest report of it.
type Task struct {
	linkapi.TaskReport
	Org       string    `json:"org"`
	EdgeHost  string    `json:"edgeHost,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PutTasks records task reports of an agent. Reports are deduplicated by task ID: a
// report older than what the relay has (fewer transitions) is ignored, so repeats and
// reordering after reconnects change nothing.
func (s *Store) PutTasks(ctx context.Context, org, agentID string, reports []linkapi.TaskReport) error {
	now := s.now().UTC()
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		for _, r := range reports {
			if r.ID == "" || strings.Contains(r.ID, "/") || len(r.ID) > 64 {
				continue
			}
			var old Task
			if err := getJSON(b, pair(org, r.ID), &old); err == nil {
				if old.EdgeHost != agentID || len(old.Transitions) > len(r.Transitions) {
					continue
				}
			}
			if err := putJSON(b, pair(org, r.ID), Task{TaskReport: r, Org: org, EdgeHost: agentID, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Task returns a task of an organization.
func (s *Store) Task(ctx context.Context, org, id string) (Task, error) {
	var t Task
	err := s.view(ctx, func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketTasks), pair(org, id), &t) })
	return t, err
}

// TaskFilter selects tasks; empty fields match everything.
type TaskFilter struct {
	Serial, State, Kind string
}

// Tasks lists an organization's tasks matching f, up to limit, by ID.
func (s *Store) Tasks(ctx context.Context, org string, f TaskFilter, limit int) ([]Task, error) {
	out := []Task{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		return scanPrefix(b, prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			var t Task
			if err := getJSON(b, k, &t); err != nil {
				return false, err
			}
			if (f.Serial == "" || strings.EqualFold(t.Serial, f.Serial)) && (f.State == "" || t.State == f.State) && (f.Kind == "" || t.Kind == f.Kind) {
				out = append(out, t)
			}
			return len(out) < limit, nil
		})
	})
	return out, err
}
