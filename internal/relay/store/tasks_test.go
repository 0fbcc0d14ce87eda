package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// A task whose agent-side history grew past maxTaskTransitions (many attempts, agent
// restarts while it ran) still gets its result recorded, with its most recent
// transitions: the agent takes the report as acknowledged either way.
func TestLongTaskHistoryStillRecordsTheResult(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	now := c.Now()
	var trs []linkapi.Transition
	for i := range maxTaskTransitions {
		trs = append(trs, linkapi.Transition{State: taskstate.Running, At: now.Add(time.Duration(i) * time.Second), Attempt: 1})
	}
	running := linkapi.TaskReport{ID: "tsk_1", Attempt: 1, Kind: "firmware", Serial: "ACCC8E000001", State: taskstate.Running, Transitions: trs}
	if _, err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{running}); err != nil {
		t.Fatal(err)
	}
	done := running
	done.State = taskstate.Succeeded
	last := linkapi.Transition{State: taskstate.Succeeded, At: now.Add(time.Hour), Attempt: 1}
	done.Transitions = append(trs[:len(trs):len(trs)], last)
	for range 2 { // the second time as after a reconnect: nothing changes
		if _, err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{done}); err != nil {
			t.Fatal(err)
		}
		got := must[Task](t)(s.Task(ctx, org.ID, "tsk_1"))
		if got.State != taskstate.Succeeded {
			t.Fatalf("after a report of success with %d transitions: task %s", len(done.Transitions), got.State)
		}
		if n := len(got.Transitions); n != maxTaskTransitions || got.Transitions[0] != trs[1] || got.Transitions[n-1] != last {
			t.Fatalf("kept %d transitions, from %v to %v; want the latest %d", n, got.Transitions[0], got.Transitions[n-1], maxTaskTransitions)
		}
	}
}

// Deleting an edge host ends the tasks of running jobs that it holds or would be given,
// retries included, so that their jobs can end; other tasks are left as they are.
func TestDeleteEdgeHostFailsItsUnfinishedTasks(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	gone := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "gone", [32]byte{1}, c.Now().Add(time.Hour)))
	kept := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "kept", [32]byte{2}, c.Now().Add(time.Hour)))
	task := func(serial, host string) Task {
		return Task{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: serial}, EdgeHost: host, MaxAttempts: 3}
	}
	j := must[Job](t)(s.CreateJob(ctx, Job{Org: org.ID, Kind: "restart"}, []Task{
		task("ACCC8E000001", gone.ID), // queued
		task("ACCC8E000002", gone.ID), // running
		task("ACCC8E000003", gone.ID), // failed, to be retried
		task("ACCC8E000004", gone.ID), // succeeded
		task("ACCC8E000005", kept.ID), // running
	}))
	ids := map[string]string{}
	for _, tk := range must[[]Task](t)(s.Tasks(ctx, org.ID, TaskFilter{JobID: j.ID}, 10)) {
		ids[tk.Serial] = tk.ID
	}
	for serial, state := range map[string]taskstate.State{"ACCC8E000002": taskstate.Running, "ACCC8E000003": taskstate.Failed,
		"ACCC8E000004": taskstate.Succeeded, "ACCC8E000005": taskstate.Running} {
		must[Task](t)(s.UpdateTask(ctx, org.ID, ids[serial], func(tk *Task) error { return tk.Move(state, "", c.Now()) }))
	}
	if err := s.DeleteEdgeHost(ctx, org.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	for serial, want := range map[string]taskstate.State{"ACCC8E000001": taskstate.Failed, "ACCC8E000002": taskstate.Failed,
		"ACCC8E000003": taskstate.Failed, "ACCC8E000004": taskstate.Succeeded, "ACCC8E000005": taskstate.Running} {
		tk := must[Task](t)(s.Task(ctx, org.ID, ids[serial]))
		ended := tk.EdgeHost == gone.ID && want == taskstate.Failed
		switch {
		case tk.State != want:
			t.Errorf("%s: %s, want %s", serial, tk.State, want)
		case ended && (tk.Detail != "the edge host was deleted" || tk.Attempt != tk.MaxAttempts):
			t.Errorf("%s: detail %q, attempt %d of %d; want the reason and no attempt left", serial, tk.Detail, tk.Attempt, tk.MaxAttempts)
		case !ended && tk.MaxAttempts != 3:
			t.Errorf("%s: max attempts %d, want 3", serial, tk.MaxAttempts)
		}
	}
}

// A report that asks for a move the table of task states does not allow (an ended task
// reported running again) is refused and returned, the stored task unchanged; the
// other reports of the batch are recorded.
func TestIllegalReportedMoveIsRefused(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	now := c.Now()
	tr := func(st taskstate.State, sec int) linkapi.Transition {
		return linkapi.Transition{State: st, At: now.Add(time.Duration(sec) * time.Second), Attempt: 1}
	}
	done := linkapi.TaskReport{ID: "tsk_1", Attempt: 1, Kind: "restart", Serial: "ACCC8E000001", State: taskstate.Succeeded,
		Transitions: []linkapi.Transition{tr(taskstate.Accepted, 0), tr(taskstate.Running, 1), tr(taskstate.Succeeded, 2)}}
	if refused, err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{done}); err != nil || len(refused) != 0 {
		t.Fatalf("a legal report: refused %v, %v", refused, err)
	}
	stored := must[Task](t)(s.Task(ctx, org.ID, "tsk_1"))

	again := done
	again.State = taskstate.Running
	again.Transitions = append(done.Transitions[:3:3], tr(taskstate.Running, 3))
	other := linkapi.TaskReport{ID: "tsk_2", Attempt: 1, Kind: "restart", Serial: "ACCC8E000002", State: taskstate.Running,
		Transitions: []linkapi.Transition{tr(taskstate.Running, 0)}}
	unknown := linkapi.TaskReport{ID: "tsk_3", Attempt: 1, Kind: "restart", Serial: "ACCC8E000003", State: "done",
		Transitions: []linkapi.Transition{{State: "done", At: now, Attempt: 1}}}
	refused, err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{again, other, unknown})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 2 || refused[0].ID != "tsk_1" || refused[1].ID != "tsk_3" {
		t.Fatalf("refused %+v, want tsk_1 (succeeded -> running) and tsk_3 (unknown state)", refused)
	}
	var me *taskstate.MoveError
	if !errors.As(refused[0].Err, &me) || me.From != taskstate.Succeeded || me.To != taskstate.Running {
		t.Errorf("refusal of tsk_1: %v", refused[0].Err)
	}
	got := must[Task](t)(s.Task(ctx, org.ID, "tsk_1"))
	if got.State != taskstate.Succeeded || len(got.Transitions) != len(stored.Transitions) || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Errorf("after the refused report the task is %s with %d transitions (was %s with %d)",
			got.State, len(got.Transitions), stored.State, len(stored.Transitions))
	}
	if tk, err := s.Task(ctx, org.ID, "tsk_2"); err != nil || tk.State != taskstate.Running {
		t.Errorf("the legal report of the batch: %+v, %v", tk.State, err)
	}
	if _, err := s.Task(ctx, org.ID, "tsk_3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a task of an unknown state was stored: %v", err)
	}
}

// The task manager's own moves are checked against the same table.
func TestIllegalMoveIsRefused(t *testing.T) {
	tk := Task{TaskReport: linkapi.TaskReport{ID: "tsk_1", Attempt: 1}}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, st := range []taskstate.State{taskstate.Queued, taskstate.Dispatched, taskstate.Succeeded} {
		if err := tk.Move(st, "", at); err != nil {
			t.Fatalf("move to %s: %v", st, err)
		}
	}
	if err := tk.Move(taskstate.Queued, "", at); err == nil {
		t.Fatal("succeeded -> queued allowed")
	}
	if tk.State != taskstate.Succeeded || len(tk.Transitions) != 3 {
		t.Fatalf("a refused move changed the task: %s, %d transitions", tk.State, len(tk.Transitions))
	}
}
