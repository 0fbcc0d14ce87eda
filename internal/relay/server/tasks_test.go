package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// An agent's report that moves an ended task back to running is refused at the relay's
// report handler: logged, the stored task unchanged, and answered like any report so
// that the agent does not send it again and again.
func TestIllegalTaskReportIsRefusedAndLogged(t *testing.T) {
	log := &testtool.Buffer{}
	r := relaytest.Start(t, relaytest.LogTo(log))
	ctx := context.Background()
	admin, err := r.Store.UserByEmail(ctx, relaytest.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	org, err := r.Store.CreateOrg(ctx, "reports", admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	host, err := r.Store.CreateEdgeHost(ctx, org.ID, "site", hash, r.Clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Store.ConsumeEnrollmentToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	agent := r.Agent(t, org.ID, host.ID, nil)
	report := func(rep linkapi.TaskReport) {
		t.Helper()
		if err := linkapi.Call(ctx, agent.Client(), http.MethodPost, "http://relay"+linkapi.TasksPath, []linkapi.TaskReport{rep}, nil); err != nil {
			t.Fatalf("report %s: %v", rep.State, err)
		}
	}
	now := r.Clock.Now().UTC()
	tr := func(s taskstate.State, sec int) linkapi.Transition {
		return linkapi.Transition{State: s, At: now.Add(time.Duration(sec) * time.Second), Attempt: 1}
	}
	done := linkapi.TaskReport{ID: "tsk_local_1", Attempt: 1, Kind: "restart", Serial: "ACCC8E000001", CreatedBy: "agent",
		State: taskstate.Succeeded, Transitions: []linkapi.Transition{tr(taskstate.Accepted, 0), tr(taskstate.Running, 1), tr(taskstate.Succeeded, 2)}}
	report(done)
	before, err := r.Store.Task(ctx, org.ID, done.ID)
	if err != nil || before.State != taskstate.Succeeded {
		t.Fatalf("the legal report: %+v, %v", before.State, err)
	}

	back := done
	back.State = taskstate.Running
	back.Transitions = append(done.Transitions[:3:3], tr(taskstate.Running, 3))
	report(back)
	testtool.WaitFor(t, 5*time.Second, "the refusal logged", func() bool {
		return strings.Contains(log.String(), "task report refused") && strings.Contains(log.String(), done.ID)
	})
	after, err := r.Store.Task(ctx, org.ID, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != taskstate.Succeeded || len(after.Transitions) != len(before.Transitions) || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("the refused report changed the task: %s with %d transitions, was %s with %d",
			after.State, len(after.Transitions), before.State, len(before.Transitions))
	}
}
