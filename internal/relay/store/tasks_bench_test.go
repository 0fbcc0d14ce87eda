package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// BenchmarkJobTasks reads every task of a 10,000-device job, as each pass of the task
// manager does: from the decode cache (cached: unchanged tasks are not decoded again),
// and decoding every task (baseline: the store without the cache).
func BenchmarkJobTasks(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir()+"/relay.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u, _ := s.CreateUser(ctx, "a@example.com", "h")
	o, _ := s.CreateOrg(ctx, "A", u.ID)
	const n = 10000
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{TaskReport: linkapi.TaskReport{Kind: "firmware", Serial: fmt.Sprintf("ACCC8E%06X", i)}, EdgeHost: "eh_1", MaxAttempts: 3,
			Params: []byte(`{"version":"12.20.1","release":"rel_abc"}`)}
	}
	j, err := s.CreateJob(ctx, Job{Org: o.ID, Kind: "firmware"}, tasks)
	if err != nil {
		b.Fatal(err)
	}
	read := func(b *testing.B) {
		for b.Loop() {
			got, err := s.Tasks(ctx, o.ID, TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30)
			if err != nil || len(got) != n {
				b.Fatal(len(got), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/task")
	}
	cache := s.tasks
	if _, err := s.Tasks(ctx, o.ID, TaskFilter{JobID: j.ID, NoTransitions: true}, 1<<30); err != nil {
		b.Fatal(err) // the task manager's passes find the cache filled by the one before
	}
	b.Run("cached", read)
	s.tasks = nil // every read decodes
	b.Run("baseline", read)
	s.tasks = cache
}
