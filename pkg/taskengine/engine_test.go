package taskengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// started runs an engine until the test ends (or stop is called).
type started struct {
	e    *Engine
	stop func()
}

func start(t *testing.T, cfg Config) *started {
	t.Helper()
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	s := &started{e: e}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			if err := e.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func state(t *testing.T, e *Engine, id string) taskstate.State {
	t.Helper()
	r, err := e.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

func TestSubmitRunsOnceAndRefusesBadTasks(t *testing.T) {
	var runs atomic.Int32
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Runners: map[string]Runner{
		"noop": RunnerFunc(func(ctx context.Context, t Task, progress func(string)) (json.RawMessage, error) {
			if t.ID == "t1" {
				runs.Add(1)
			}
			progress("halfway")
			return json.RawMessage(`{"ok":true}`), nil
		}),
	}})
	task := Task{ID: "t1", Attempt: 1, Kind: "noop", Serial: "ACCC8E000001"}
	for range 3 { // delivered three times: runs once
		if _, err := s.e.Submit(task); err != nil {
			t.Fatal(err)
		}
	}
	testtool.WaitFor(t, 10*time.Second, "the task to succeed", func() bool { return state(t, s.e, "t1") == taskstate.Succeeded })
	if _, err := s.e.Submit(task); err != nil {
		t.Fatal(err)
	}
	// A later task of the same device runs after anything of t1 kept waiting: once it
	// ended, a duplicate of t1 would have run.
	if _, err := s.e.Submit(Task{ID: "t2", Attempt: 1, Kind: "noop", Serial: task.Serial}); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "the later task to succeed", func() bool { return state(t, s.e, "t2") == taskstate.Succeeded })
	if r, _ := s.e.Get("t1"); r.State != taskstate.Succeeded || string(r.Result) != `{"ok":true}` {
		t.Fatalf("after a repeat: %+v", r)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("ran %d times, want 1", n)
	}
	r, _ := s.e.Get("t1")
	var states []taskstate.State
	for _, tr := range r.Transitions {
		states = append(states, tr.State)
	}
	if fmt.Sprint(states) != "[accepted running running succeeded]" {
		t.Fatalf("transitions %v", states)
	}
	// A second attempt of the same task runs again.
	task.Attempt = 2
	if _, err := s.e.Submit(task); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "attempt 2", func() bool { r, _ := s.e.Get("t1"); return r.Attempt == 2 && r.State == taskstate.Succeeded })
	if n := runs.Load(); n != 2 {
		t.Fatalf("ran %d times after a second attempt, want 2", n)
	}
	if _, err := s.e.Submit(Task{ID: "t2", Attempt: 1, Kind: "format-disk", Serial: "X"}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := s.e.Submit(Task{ID: "", Attempt: 1, Kind: "noop", Serial: "X"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no ID: %v", err)
	}
}

func TestConcurrencyLimits(t *testing.T) {
	var mu sync.Mutex
	running, maxRunning := 0, 0
	perDevice := map[string]int{}
	release := make(chan struct{})
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Concurrency: 3, Runners: map[string]Runner{
		"slow": RunnerFunc(func(ctx context.Context, t Task, _ func(string)) (json.RawMessage, error) {
			mu.Lock()
			running++
			perDevice[t.Serial]++
			maxRunning = max(maxRunning, running)
			bad := perDevice[t.Serial] > 1
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			perDevice[t.Serial]--
			mu.Unlock()
			if bad {
				return nil, errors.New("two tasks at once on one device")
			}
			return nil, nil
		}),
	}})
	for i := range 12 { // 6 devices, 2 tasks each
		if _, err := s.e.Submit(Task{ID: fmt.Sprint("t", i), Attempt: 1, Kind: "slow", Serial: fmt.Sprint("dev", i%6)}); err != nil {
			t.Fatal(err)
		}
	}
	testtool.WaitFor(t, 10*time.Second, "3 tasks running", func() bool { mu.Lock(); defer mu.Unlock(); return running == 3 })
	close(release)
	testtool.WaitFor(t, 10*time.Second, "all tasks done", func() bool {
		rs, _ := s.e.List()
		for _, r := range rs {
			if !r.State.Final() {
				return false
			}
		}
		return len(rs) == 12
	})
	rs, _ := s.e.List()
	for _, r := range rs {
		if r.State != taskstate.Succeeded {
			t.Errorf("%s: %s %s", r.ID, r.State, r.Detail)
		}
	}
	if maxRunning != 3 {
		t.Errorf("at most %d ran at once, want 3", maxRunning)
	}
}

// TestResumeAfterStop stops the engine while a task runs: the journal still says
// running, and the next Open resumes it; the runner, checking the device first, finishes
// without doing the work twice.
func TestResumeAfterStop(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "tasks.db")
	var uploads atomic.Int32
	var deviceVersion atomic.Value
	deviceVersion.Store("11.11.1")
	entered := make(chan struct{}, 1)
	var resumedFrom atomic.Value
	upgrade := RunnerFunc(func(ctx context.Context, t Task, progress func(string)) (json.RawMessage, error) {
		if t.Resumed != nil {
			resumedFrom.Store(*t.Resumed)
		}
		if deviceVersion.Load() == "12.0.0" {
			return json.RawMessage(`"already at 12.0.0"`), nil
		}
		progress("uploading")
		uploads.Add(1)
		deviceVersion.Store("12.0.0") // the device took the image...
		entered <- struct{}{}
		<-ctx.Done() // ...and the agent stops before it could journal the end
		return nil, ctx.Err()
	})
	s := start(t, Config{Journal: journal, Runners: map[string]Runner{"firmware": upgrade}})
	if _, err := s.e.Submit(Task{ID: "fw", Attempt: 1, Kind: "firmware", Serial: "ACCC8E000001"}); err != nil {
		t.Fatal(err)
	}
	<-entered
	s.stop()

	s = start(t, Config{Journal: journal, Runners: map[string]Runner{"firmware": upgrade}})
	testtool.WaitFor(t, 10*time.Second, "the resumed task to succeed", func() bool { return state(t, s.e, "fw") == taskstate.Succeeded })
	r, _ := s.e.Get("fw")
	if uploads.Load() != 1 || string(r.Result) != `"already at 12.0.0"` {
		t.Fatalf("uploads %d, result %s", uploads.Load(), r.Result)
	}
	if got, _ := resumedFrom.Load().(string); got != "uploading" {
		t.Fatalf("the resumed runner was told %q, want the last progress \"uploading\"", got)
	}
	resumed := false
	for _, tr := range r.Transitions {
		resumed = resumed || tr.Detail == "resumed after a restart"
	}
	if !resumed {
		t.Fatalf("no resume in the transitions: %+v", r.Transitions)
	}
}

// TestResumedTaskIsNotExpired stops the engine while a task with a deadline runs and
// opens it again after the deadline: the task had started, so it resumes (its runner
// checks the device) instead of expiring as if it never ran.
func TestResumedTaskIsNotExpired(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "tasks.db")
	var now atomic.Value
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now.Store(t0)
	clock := func() time.Time { return now.Load().(time.Time) }
	entered := make(chan struct{}, 1)
	var runs atomic.Int32
	upgrade := RunnerFunc(func(ctx context.Context, t Task, progress func(string)) (json.RawMessage, error) {
		if runs.Add(1) > 1 {
			return json.RawMessage(`"checked the device: done"`), nil
		}
		progress("uploading")
		entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	s := start(t, Config{Journal: journal, Now: clock, Runners: map[string]Runner{"firmware": upgrade}})
	if _, err := s.e.Submit(Task{ID: "fw", Attempt: 1, Kind: "firmware", Serial: "A", Deadline: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	<-entered
	s.stop()
	now.Store(t0.Add(2 * time.Hour)) // the agent comes back after the deadline
	s = start(t, Config{Journal: journal, Now: clock, Runners: map[string]Runner{"firmware": upgrade}})
	testtool.WaitFor(t, 10*time.Second, "the task to end", func() bool { return state(t, s.e, "fw").Final() })
	if r, _ := s.e.Get("fw"); r.State != taskstate.Succeeded || string(r.Result) != `"checked the device: done"` {
		t.Fatalf("the interrupted upgrade ended %s (%s) without its runner checking the device", r.State, r.Detail)
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("the runner ran %d times, want 2 (the start and the resume)", n)
	}
}

func TestCancelExpireAndReport(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	block := make(chan struct{})
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Now: func() time.Time { return now }, Runners: map[string]Runner{
		"wait": RunnerFunc(func(ctx context.Context, t Task, _ func(string)) (json.RawMessage, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-block:
				return nil, nil
			}
		}),
	}})
	_, _ = s.e.Submit(Task{ID: "running", Attempt: 1, Kind: "wait", Serial: "A"})
	testtool.WaitFor(t, 10*time.Second, "running", func() bool { return state(t, s.e, "running") == taskstate.Running })
	_, _ = s.e.Submit(Task{ID: "queued", Attempt: 1, Kind: "wait", Serial: "A"})
	_, _ = s.e.Submit(Task{ID: "late", Attempt: 1, Kind: "wait", Serial: "B", Deadline: now.Add(-time.Minute)})
	testtool.WaitFor(t, 10*time.Second, "expired", func() bool { return state(t, s.e, "late") == taskstate.Expired })
	if err := s.e.Cancel("queued"); err != nil {
		t.Fatal(err)
	}
	if err := s.e.Cancel("running"); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "both cancelled", func() bool {
		return state(t, s.e, "queued") == taskstate.Cancelled && state(t, s.e, "running") == taskstate.Cancelled
	})
	if err := s.e.Cancel("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	un, _ := s.e.Unreported()
	if len(un) != 3 {
		t.Fatalf("unreported %d, want 3", len(un))
	}
	if err := s.e.MarkReported(un); err != nil {
		t.Fatal(err)
	}
	if un, _ := s.e.Unreported(); len(un) != 0 {
		t.Fatalf("still unreported: %+v", un)
	}
	close(block)
}
