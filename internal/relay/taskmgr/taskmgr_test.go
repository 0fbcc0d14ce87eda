package taskmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/relay/store/storetest"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// fakeAgent stands in for the agent link in these unit tests of the rollout policy (the
// edge host tests run the real thing end to end): it takes every task it is given.
type fakeAgent struct {
	mu    sync.Mutex
	given []string // task IDs, in order
}

func (f *fakeAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	var ts []taskengine.Task
	if strings.HasSuffix(r.URL.Path, linkapi.RunTasksPath) {
		_ = json.NewDecoder(r.Body).Decode(&ts)
	}
	f.mu.Lock()
	for _, t := range ts {
		f.given = append(f.given, t.ID)
	}
	f.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("[]")), Header: http.Header{}, Request: r}, nil
}

func (f *fakeAgent) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.given
	f.given = nil
	return out
}

type env struct {
	st    *store.Store
	m     *Manager
	agent *fakeAgent
	org   string
	host  string
}

func newEnv(t *testing.T, serials ...string) *env {
	t.Helper()
	o := storetest.NewOrg(t, storetest.Reachable(serials...)...)
	a := &fakeAgent{}
	m, err := New(Config{Store: o.Store, Agents: a})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: o.Store, m: m, agent: a, org: o.Org, host: o.Host}
}

func (e *env) job(t *testing.T, pol store.Policy, retry int, tasks ...[2]string) (store.Job, map[string]string) {
	t.Helper()
	var ts []store.Task
	for _, kv := range tasks {
		ts = append(ts, store.Task{TaskReport: linkapi.TaskReport{Kind: kv[1], Serial: kv[0]}, EdgeHost: e.host, MaxAttempts: retry})
	}
	j, err := e.st.CreateJob(context.Background(), store.Job{Org: e.org, Kind: "mixed", Policy: pol}, ts)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // serial+kind -> task ID
	got, _ := e.st.Tasks(context.Background(), e.org, store.TaskFilter{JobID: j.ID}, 100)
	for _, tk := range got {
		ids[tk.Serial+"/"+tk.Kind] = tk.ID
	}
	return j, ids
}

func (e *env) step(t *testing.T, j store.Job) store.Job {
	t.Helper()
	if err := e.m.advance(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	j, err := e.st.Job(context.Background(), e.org, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// report is the agent's word on a task's first attempt.
func (e *env) report(t *testing.T, id string, state taskstate.State) {
	t.Helper()
	e.reportAttempt(t, id, 1, state)
}

func (e *env) reportAttempt(t *testing.T, id string, attempt int, state taskstate.State) {
	t.Helper()
	now := time.Now()
	_, err := e.st.PutTasks(context.Background(), e.org, e.host, []linkapi.TaskReport{{ID: id, Attempt: attempt, State: state,
		Transitions: []linkapi.Transition{{State: taskstate.Accepted, At: now, Attempt: attempt}, {State: state, At: now, Attempt: attempt}}}})
	if err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestADevicesTasksGoOneAtATimeInOrder(t *testing.T) {
	e := newEnv(t, "ACCC8E00000A", "ACCC8E00000B")
	j, ids := e.job(t, store.Policy{MaxInFlight: 10}, 1,
		[2]string{"ACCC8E00000A", "firmware"}, [2]string{"ACCC8E00000A", "params"}, [2]string{"ACCC8E00000B", "restart"})
	e.step(t, j)
	if got := e.agent.take(); len(got) != 2 || !slices.Contains(got, ids["ACCC8E00000A/firmware"]) || !slices.Contains(got, ids["ACCC8E00000B/restart"]) {
		t.Fatalf("first step gave %v", got)
	}
	e.step(t, j)
	if got := e.agent.take(); len(got) != 0 {
		t.Fatalf("gave %v while the device's first task runs", got)
	}
	e.report(t, ids["ACCC8E00000A/firmware"], taskstate.Succeeded)
	e.step(t, j)
	if got := e.agent.take(); len(got) != 1 || got[0] != ids["ACCC8E00000A/params"] {
		t.Fatalf("after the firmware: %v", got)
	}
	e.report(t, ids["ACCC8E00000A/params"], taskstate.Succeeded)
	e.report(t, ids["ACCC8E00000B/restart"], taskstate.Succeeded)
	if j = e.step(t, j); j.State != store.JobSucceeded {
		t.Fatalf("job %s", j.State)
	}
}

func TestAbortRuleAndWindow(t *testing.T) {
	var serials []string
	var tasks [][2]string
	for _, c := range "0123456789" {
		s := "ACCC8E00001" + string(c)
		serials = append(serials, s)
		tasks = append(tasks, [2]string{s, "restart"})
	}
	e := newEnv(t, serials...)
	j, ids := e.job(t, store.Policy{MaxInFlight: 2, AbortCount: 2}, 1, tasks...)
	e.step(t, j)
	first := e.agent.take()
	if len(first) != 2 {
		t.Fatalf("gave %d tasks, at most 2 in flight", len(first))
	}
	for _, id := range first {
		e.report(t, id, taskstate.Failed)
	}
	if j = e.step(t, j); !j.Aborted || j.State != store.JobAborted {
		t.Fatalf("after 2 failures: aborted %v, state %s", j.Aborted, j.State)
	}
	if got := e.agent.take(); len(got) != 0 {
		t.Fatalf("started %v after the abort", got)
	}
	if tk, _ := e.st.Task(context.Background(), e.org, ids[serials[9]+"/restart"]); tk.State != taskstate.Cancelled {
		t.Fatalf("a task not started is %s, want cancelled", tk.State)
	}

	// A maintenance window that is not now starts nothing.
	now := time.Now().UTC()
	win := &store.Window{Start: now.Add(2 * time.Hour).Format("15:04"), End: now.Add(3 * time.Hour).Format("15:04")}
	j, _ = e.job(t, store.Policy{MaxInFlight: 5, Window: win}, 1, [2]string{serials[0], "restart"})
	if j = e.step(t, j); j.State != store.JobRunning {
		t.Fatalf("job %s", j.State)
	}
	if got := e.agent.take(); len(got) != 0 {
		t.Fatalf("started %v outside the window", got)
	}
}

// A task counts as started when it is given to its agent, also when the agent's report
// that it accepted it arrives before the answer to the dispatch, as it often does.
func TestMaxPerMinuteCountsEveryStart(t *testing.T) {
	e := newEnv(t, "ACCC8E00000A", "ACCC8E00000B", "ACCC8E00000C")
	e.m.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := e.agent.RoundTrip(r)
		given := e.agent.take()
		for _, id := range given {
			e.report(t, id, taskstate.Accepted)
		}
		e.agent.mu.Lock()
		e.agent.given = append(e.agent.given, given...)
		e.agent.mu.Unlock()
		return resp, err
	})
	j, _ := e.job(t, store.Policy{MaxInFlight: 10, MaxPerMinute: 1}, 1,
		[2]string{"ACCC8E00000A", "restart"}, [2]string{"ACCC8E00000B", "restart"}, [2]string{"ACCC8E00000C", "restart"})
	for range 3 {
		e.step(t, j)
	}
	if got := e.agent.take(); len(got) != 1 {
		t.Fatalf("maxPerMinute 1: %d tasks started within a minute", len(got))
	}
}

// A retry is a start; the failed attempt's start still counts after it.
func TestMaxPerMinuteCountsRetries(t *testing.T) {
	e := newEnv(t, "ACCC8E00000A", "ACCC8E00000B")
	j, _ := e.job(t, store.Policy{MaxInFlight: 10, MaxPerMinute: 1}, 2,
		[2]string{"ACCC8E00000A", "restart"}, [2]string{"ACCC8E00000B", "restart"})
	e.step(t, j)
	first := e.agent.take()
	if len(first) != 1 {
		t.Fatalf("first step gave %v", first)
	}
	e.report(t, first[0], taskstate.Failed) // fails at once; retried with no backoff
	e.step(t, j)
	if got := e.agent.take(); len(got) != 0 {
		t.Fatalf("maxPerMinute 1: started %v within the minute of the first start", got)
	}
}

// A task retried within the minute of its first start would make that start forgotten
// (starts are counted by each task's last one): the retry waits, other tasks go first.
func TestMaxPerMinuteRetryWaitsForItsFirstStartToCount(t *testing.T) {
	e := newEnv(t, "ACCC8E00000A", "ACCC8E00000B", "ACCC8E00000C")
	j, ids := e.job(t, store.Policy{MaxInFlight: 1, MaxPerMinute: 2}, 2,
		[2]string{"ACCC8E00000A", "restart"}, [2]string{"ACCC8E00000B", "restart"}, [2]string{"ACCC8E00000C", "restart"})
	var started []string
	e.step(t, j)
	started = append(started, e.agent.take()...)
	e.report(t, ids["ACCC8E00000A/restart"], taskstate.Failed) // retried with no backoff
	for range 3 {
		e.step(t, j)
		given := e.agent.take()
		for _, id := range given {
			tk, _ := e.st.Task(context.Background(), e.org, id)
			e.reportAttempt(t, id, tk.Attempt, taskstate.Succeeded)
		}
		started = append(started, given...)
	}
	if len(started) != 2 {
		t.Fatalf("maxPerMinute 2: %d starts within a minute: %v", len(started), started)
	}
}

// A task the relay still has as queued (the answer to its dispatch was lost after the
// agent took it) is not moved to expired over the agent's report of success that lands
// while the pass runs.
func TestExpiryDoesNotOverwriteAnAgentReport(t *testing.T) {
	e := newEnv(t, "ACCC8E00000A")
	ctx := context.Background()
	j, err := e.st.CreateJob(ctx, store.Job{Org: e.org, Kind: "restart", Policy: store.Policy{MaxInFlight: 1}},
		[]store.Task{{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E00000A"}, EdgeHost: e.host,
			MaxAttempts: 1, Deadline: time.Now().Add(-time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := e.st.Tasks(ctx, e.org, store.TaskFilter{JobID: j.ID}, 10)
	id := ts[0].ID
	var once sync.Once
	// advance reads the clock right after it read the job's tasks: the report lands then.
	e.m.cfg.Now = func() time.Time {
		once.Do(func() { e.report(t, id, taskstate.Succeeded) })
		return time.Now()
	}
	e.step(t, j)
	if tk, _ := e.st.Task(ctx, e.org, id); tk.State != taskstate.Succeeded {
		t.Fatalf("the agent reported success, the relay recorded %s", tk.State)
	}
}

// Cancelling a large job is one pass of the manager, which every other job waits for: it
// must not take a transaction (a batch delay and a sync on a real disk) per task. What
// the pass asks of the store is counted, not timed, so a loaded machine cannot fail it.
func TestCancelLargeJobIsQuick(t *testing.T) {
	var serials []string
	var tasks [][2]string
	for i := range 2000 {
		s := fmt.Sprintf("ACCC8E%06X", i)
		serials = append(serials, s)
		tasks = append(tasks, [2]string{s, "restart"})
	}
	e := newEnv(t, serials...)
	ctx := context.Background()
	j, _ := e.job(t, store.Policy{MaxInFlight: 1}, 1, tasks...)
	j, err := e.st.UpdateJob(ctx, e.org, j.ID, func(j *store.Job) error { j.Cancelled = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	before := e.st.Writes()
	j = e.step(t, j)
	// The tasks in one transaction, then the job's end; a few more would do no harm,
	// one per task would.
	writes := e.st.Writes() - before
	t.Logf("cancel pass over 2000 queued tasks: %d write transactions", writes)
	if writes > 4 {
		t.Fatalf("the cancel pass over 2000 queued tasks took %d write transactions", writes)
	}
	if j.State != store.JobCancelled {
		t.Fatalf("job %s after the cancel pass", j.State)
	}
}

// Silent tasks are given again in one request per agent: one request per task would
// hold the manager, and every job of every organization, for as long as a slow agent
// takes (up to call's 30 s timeout) per task.
func TestRedispatchIsOneRequestPerAgent(t *testing.T) {
	serials := []string{"ACCC8E00000A", "ACCC8E00000B", "ACCC8E00000C", "ACCC8E00000D", "ACCC8E00000E"}
	var tasks [][2]string
	for _, s := range serials {
		tasks = append(tasks, [2]string{s, "restart"})
	}
	e := newEnv(t, serials...)
	j, _ := e.job(t, store.Policy{MaxInFlight: 10}, 1, tasks...)
	e.step(t, j) // all five dispatched; the agent then goes quiet
	if got := e.agent.take(); len(got) != 5 {
		t.Fatalf("first step gave %d tasks", len(got))
	}
	var calls atomic.Int32
	e.m.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return e.agent.RoundTrip(r)
	})
	e.m.cfg.Redispatch = time.Nanosecond
	e.step(t, j)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d requests to one agent to give it its 5 silent tasks again", n)
	}
	if got := e.agent.take(); len(got) != 5 {
		t.Fatalf("gave %d of the 5 silent tasks again", len(got))
	}
}

// A job whose edge host was deleted ends, cancelled or not: its tasks at that host would
// otherwise be given again, retried or waited for forever.
func TestAJobWhoseAgentIsGoneEnds(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancelled=%v", cancel), func(t *testing.T) {
			e := newEnv(t, "ACCC8E00000A", "ACCC8E00000B")
			ctx := context.Background()
			j, _ := e.job(t, store.Policy{MaxInFlight: 1}, 3, [2]string{"ACCC8E00000A", "restart"}, [2]string{"ACCC8E00000B", "restart"})
			e.step(t, j) // one dispatched, one queued
			if err := e.st.DeleteEdgeHost(ctx, e.org, e.host); err != nil {
				t.Fatal(err)
			}
			e.m.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return nil, fmt.Errorf("agent %s: %w", e.host, edgelink.ErrAgentOffline)
			})
			if cancel {
				var err error
				if j, err = e.st.UpdateJob(ctx, e.org, j.ID, func(j *store.Job) error { j.Cancelled, j.Reason = true, "test"; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			j = e.step(t, j)
			want := map[bool]string{false: store.JobFailed, true: store.JobCancelled}[cancel]
			if j.State != want {
				ts, _ := e.st.Tasks(ctx, e.org, store.TaskFilter{JobID: j.ID}, 10)
				t.Fatalf("job %s, want %s; its first task is %s at the deleted agent", j.State, want, ts[0].State)
			}
		})
	}
}

// Cancelling a job asks every agent at once: an agent slow to answer holds up neither
// the others' cancels nor the record of them.
func TestCancelAsksTheAgentsAtOnce(t *testing.T) {
	e := newEnv(t, "ACCC8E0000C1")
	ctx := context.Background()
	other, err := e.st.CreateEdgeHost(ctx, e.org, "site 2", [32]byte{2}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.OnboardDevice(ctx, e.org, other.ID, "ACCC8E0000C2", "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ReportDevices(ctx, e.org, other.ID, []linkapi.DeviceReport{{Serial: "ACCC8E0000C2", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	j, err := e.st.CreateJob(ctx, store.Job{Org: e.org, Kind: "restart", Policy: store.Policy{MaxInFlight: 10}}, []store.Task{
		{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E0000C1"}, EdgeHost: e.host, MaxAttempts: 1},
		{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E0000C2"}, EdgeHost: other.ID, MaxAttempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	j = e.step(t, j) // both dispatched
	if got := e.agent.take(); len(got) != 2 {
		t.Fatalf("dispatched %v", got)
	}
	if j, err = e.st.UpdateJob(ctx, e.org, j.ID, func(j *store.Job) error { j.Cancelled = true; return nil }); err != nil {
		t.Fatal(err)
	}

	// Each edge host answers only once both were asked.
	var asked atomic.Int32
	both := make(chan struct{})
	e.m.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if asked.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("the other agent was not asked while this one waited")
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	e.step(t, j)
	ts, _ := e.st.Tasks(ctx, e.org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, 10)
	for _, tk := range ts {
		if !tk.CancelSent {
			t.Errorf("task on %s: cancel not recorded as sent", tk.EdgeHost)
		}
	}
}
