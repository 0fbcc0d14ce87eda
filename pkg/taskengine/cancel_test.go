package taskengine

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// waitForCancel is a runner that ends when its task is cancelled, or succeeds after d.
func waitForCancel(d time.Duration, ran, cancelled *atomic.Bool) Runner {
	return RunnerFunc(func(ctx context.Context, _ Task, _ func(string)) (json.RawMessage, error) {
		if ran != nil {
			ran.Store(true)
		}
		select {
		case <-ctx.Done():
			if cancelled != nil {
				cancelled.Store(true)
			}
			return nil, ctx.Err()
		case <-time.After(d):
			return nil, nil
		}
	})
}

// TestCancelWhileStartingIsNotLost cancels a task at the moment the engine starts it
// (when startReady reads the clock, after it listed the waiting tasks): Cancel returns
// nil, so the task must end cancelled, never run to its end.
func TestCancelWhileStartingIsNotLost(t *testing.T) {
	lost := 0
	for i := range 20 {
		var armed, ran, cancelled atomic.Bool
		var e *Engine
		cancelErr := make(chan error, 1)
		cfg := Config{Journal: filepath.Join(t.TempDir(), "tasks.db"),
			Runners: map[string]Runner{"wait": waitForCancel(100*time.Millisecond, &ran, &cancelled)},
			Now: func() time.Time {
				if armed.CompareAndSwap(true, false) {
					go func() { cancelErr <- e.Cancel("t") }()
					time.Sleep(500 * time.Microsecond) // holds the start open for the Cancel: the race under test
				}
				return time.Now()
			}}
		var err error
		if e, err = Open(cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Submit(Task{ID: "t", Attempt: 1, Kind: "wait", Serial: "A"}); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = e.Run(ctx) }()
		if err := <-cancelErr; err != nil {
			t.Fatal(err)
		}
		testtool.WaitFor(t, 10*time.Second, "the task to end", func() bool { return state(t, e, "t").Final() })
		if st := state(t, e, "t"); st != taskstate.Cancelled {
			lost++
			r, _ := e.Get("t")
			t.Logf("run %d: Cancel returned nil, the task ran=%v cancelled=%v and ended %s: %+v", i, ran.Load(), cancelled.Load(), st, r.Transitions)
		}
		stop()
		<-done
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of 20 cancels lost", lost)
	}
}

// TestCancelRightAfterSubmit cancels each of 200 tasks 0 to 1.8 ms after submitting
// it, as a relay does that dispatches a task and cancels it at once: the cancel lands
// before, during or after the start, and every task must end cancelled. The runner
// takes 2 s unless cancelled, far longer than a cancel needs even on a loaded machine,
// so a task that succeeds is a lost cancel, not a slow one.
func TestCancelRightAfterSubmit(t *testing.T) {
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Concurrency: 1000,
		Runners: map[string]Runner{"wait": waitForCancel(2*time.Second, nil, nil)}})
	const n = 200
	for i := range n {
		id := fmt.Sprint("t", i)
		if _, err := s.e.Submit(Task{ID: id, Attempt: 1, Kind: "wait", Serial: id}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%10) * 200 * time.Microsecond) // cancels at varied points of the start
		if err := s.e.Cancel(id); err != nil {
			t.Fatal(err)
		}
	}
	lost := 0
	for i := range n {
		id := fmt.Sprint("t", i)
		testtool.WaitFor(t, 10*time.Second, id+" to end", func() bool { return state(t, s.e, id).Final() })
		if r, _ := s.e.Get(id); r.State != taskstate.Cancelled {
			lost++
			t.Logf("%s ended %s: %+v", id, r.State, r.Transitions)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d cancelled tasks ran to their end", lost, n)
	}
}

// TestCancelWhileStopped cancels a task that was running when the engine stopped: no
// runner holds it any more, so Cancel journals it cancelled, and the next Open does not
// resume it.
func TestCancelWhileStopped(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "tasks.db")
	var runs atomic.Int32
	entered := make(chan struct{}, 1)
	runner := RunnerFunc(func(ctx context.Context, _ Task, _ func(string)) (json.RawMessage, error) {
		runs.Add(1)
		entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	e, err := Open(Config{Journal: journal, Runners: map[string]Runner{"wait": runner}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(Task{ID: "t", Attempt: 1, Kind: "wait", Serial: "A"}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	<-entered
	stop()
	<-done
	if st := state(t, e, "t"); st != taskstate.Running {
		t.Fatalf("after the engine stopped the task is %s, want running (to resume)", st)
	}
	if err := e.Cancel("t"); err != nil {
		t.Fatal(err)
	}
	if st := state(t, e, "t"); st != taskstate.Cancelled {
		t.Fatalf("after Cancel the task is %s, want cancelled", st)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{Journal: journal, Runners: map[string]Runner{"wait": runner, "noop": RunnerFunc(
		func(context.Context, Task, func(string)) (json.RawMessage, error) { return nil, nil })}})
	// A later task of the same device starts only after a resumed t would have: once it
	// ended, t had its chance to run again.
	if _, err := s.e.Submit(Task{ID: "later", Attempt: 1, Kind: "noop", Serial: "A"}); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "the later task to succeed", func() bool { return state(t, s.e, "later") == taskstate.Succeeded })
	if st := state(t, s.e, "t"); st != taskstate.Cancelled || runs.Load() != 1 {
		t.Fatalf("after a restart the task is %s and ran %d times, want cancelled and once", st, runs.Load())
	}
}

// TestCancelWinsOverARunnerEndingMeanwhile cancels a running task whose runner then
// returns success without heeding the cancel, as one does that is past the point of no
// return: Cancel returned nil first, so the task ends cancelled.
func TestCancelWinsOverARunnerEndingMeanwhile(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"),
		Runners: map[string]Runner{"stubborn": RunnerFunc(func(context.Context, Task, func(string)) (json.RawMessage, error) {
			close(entered)
			<-release
			return json.RawMessage(`{"done":true}`), nil
		})}})
	if _, err := s.e.Submit(Task{ID: "t", Attempt: 1, Kind: "stubborn", Serial: "A"}); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := s.e.Cancel("t"); err != nil {
		t.Fatal(err)
	}
	close(release)
	testtool.WaitFor(t, 10*time.Second, "the task to end", func() bool { return state(t, s.e, "t").Final() })
	if r, _ := s.e.Get("t"); r.State != taskstate.Cancelled {
		t.Fatalf("cancelled before its runner returned, the task ended %s: %+v", r.State, r.Transitions)
	}
}

// TestCancelledTaskRunsNoRunner cancels many waiting tasks while the engine starts them:
// a cancel that returned nil before a task's runner was called keeps it from being
// called at all, so cancelling a large batch costs no device work.
func TestCancelledTaskRunsNoRunner(t *testing.T) {
	var runs atomic.Int32
	gate := make(chan struct{})
	s := start(t, Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Concurrency: 1,
		Runners: map[string]Runner{"count": RunnerFunc(func(context.Context, Task, func(string)) (json.RawMessage, error) {
			runs.Add(1)
			<-gate // holds the one slot until every cancel returned
			return nil, nil
		})}})
	const n = 50
	ts := make([]Task, n)
	for i := range ts {
		ts[i] = Task{ID: fmt.Sprint("t", i), Attempt: 1, Kind: "count", Serial: fmt.Sprint("S", i)}
	}
	if _, err := s.e.SubmitAll(ts); err != nil {
		t.Fatal(err)
	}
	for _, task := range ts {
		if err := s.e.Cancel(task.ID); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	for _, task := range ts {
		testtool.WaitFor(t, 10*time.Second, task.ID+" to end", func() bool { return state(t, s.e, task.ID).Final() })
		if st := state(t, s.e, task.ID); st != taskstate.Cancelled {
			t.Errorf("%s ended %s, want cancelled", task.ID, st)
		}
	}
	// With one task at a time, at most the one started before its cancel ran.
	if got := runs.Load(); got > 1 {
		t.Fatalf("%d runners ran for %d tasks cancelled while waiting, want at most 1", got, n)
	}
}
