package store

import (
	"context"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// Deleting an organization removes "everything it owns": its running jobs must not stay
// in active_jobs (the task manager would advance them forever, for edge hosts that are
// gone), and its tasks, jobs and profiles must not outlive it.
func TestDeleteOrgEndsItsJobs(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site", [32]byte{1}, c.Now().Add(time.Hour)))
	j := must[Job](t)(s.CreateJob(ctx, Job{Org: org.ID, Kind: "restart"}, []Task{
		{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E000001"}, EdgeHost: h.ID, MaxAttempts: 1},
	}))
	if err := s.DeleteOrg(ctx, org.ID); err != nil {
		t.Fatal(err)
	}
	for _, a := range must[[]Job](t)(s.ActiveJobs(ctx)) {
		if a.ID == j.ID {
			t.Errorf("job %s of deleted organization %s is still active (state %s)", a.ID, a.Org, a.State)
		}
	}
	if tasks := must[[]Task](t)(s.Tasks(ctx, org.ID, TaskFilter{JobID: j.ID}, 10)); len(tasks) != 0 {
		t.Errorf("deleted organization still has %d tasks", len(tasks))
	}
}
