package store

import (
	"context"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
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
		trs = append(trs, linkapi.Transition{State: linkapi.TaskRunning, At: now.Add(time.Duration(i) * time.Second), Attempt: 1})
	}
	running := linkapi.TaskReport{ID: "tsk_1", Attempt: 1, Kind: "firmware", Serial: "ACCC8E000001", State: linkapi.TaskRunning, Transitions: trs}
	if err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{running}); err != nil {
		t.Fatal(err)
	}
	done := running
	done.State = linkapi.TaskSucceeded
	last := linkapi.Transition{State: linkapi.TaskSucceeded, At: now.Add(time.Hour), Attempt: 1}
	done.Transitions = append(trs[:len(trs):len(trs)], last)
	for range 2 { // the second time as after a reconnect: nothing changes
		if err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{done}); err != nil {
			t.Fatal(err)
		}
		got := must[Task](t)(s.Task(ctx, org.ID, "tsk_1"))
		if got.State != linkapi.TaskSucceeded {
			t.Fatalf("after a report of success with %d transitions: task %s", len(done.Transitions), got.State)
		}
		if n := len(got.Transitions); n != maxTaskTransitions || got.Transitions[0] != trs[1] || got.Transitions[n-1] != last {
			t.Fatalf("kept %d transitions, from %v to %v; want the latest %d", n, got.Transitions[0], got.Transitions[n-1], maxTaskTransitions)
		}
	}
}
