package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// TestJobsCommands drives `relay jobs` against a relay whose edge host is offline: the
// job is created and listed with its tasks queued, and cancelling it ends it, which
// show --follow reports.
func TestJobsCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := relaytest.Start(t)
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	ctx := context.Background()
	orgs, err := r.Store.OrgsOf(ctx, mustUser(t, r).ID)
	if err != nil || len(orgs) == 0 {
		t.Fatalf("orgs: %v %v", orgs, err)
	}
	org := orgs[0].Org.ID
	hash := [32]byte{7}
	h, err := r.Store.CreateEdgeHost(ctx, org, "site", hash, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"ACCC8E0000A1", "ACCC8E0000A2"} {
		if _, err := r.Store.OnboardDevice(ctx, org, h.ID, serial, "usr_test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Store.ReportDevices(ctx, org, h.ID, []linkapi.DeviceReport{{Serial: "ACCC8E0000A1", Reachable: true}, {Serial: "ACCC8E0000A2", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--relay", r.URL, "--ca", r.CAFile, "--token", tok, "--org", org}

	out, _, err := run(t, append([]string{"jobs", "create", "--kind", "restart", "--all", "--follow=false"}, conn...)...)
	m := regexp.MustCompile(`job (job_\S+): 2 restart tasks`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if _, _, err := run(t, append([]string{"jobs", "create", "--kind", "reformat", "--all"}, conn...)...); err == nil || !strings.Contains(err.Error(), "unknown task kind") {
		t.Fatalf("an unknown kind: %v", err)
	}
	if _, _, err := run(t, append([]string{"jobs", "create", "--kind", "params", "--params", `{"values":{"nodots":"1"}}`, "--all"}, conn...)...); err == nil || !strings.Contains(err.Error(), "dotted") {
		t.Fatalf("malformed parameters: %v", err)
	}
	if _, _, err := run(t, append([]string{"jobs", "create", "--kind", "restart", "--device", "ACCC8E0000FF"}, conn...)...); err == nil || !strings.Contains(err.Error(), "ACCC8E0000FF") {
		t.Fatalf("an unknown device: %v", err)
	}
	out, _, err = run(t, append([]string{"jobs", "list"}, conn...)...)
	if err != nil || !strings.Contains(out, m[1]) || !strings.Contains(out, "running") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = run(t, append([]string{"jobs", "show", m[1]}, conn...)...)
	if err != nil || strings.Count(out, "queued  1") != 2 || !strings.Contains(out, "ACCC8E0000A1") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if out, _, err = run(t, append([]string{"jobs", "cancel", m[1]}, conn...)...); err != nil || !strings.Contains(out, "cancelling") {
		t.Fatalf("cancel: %v\n%s", err, out)
	}
	out, _, err = run(t, append([]string{"jobs", "show", m[1], "--follow"}, conn...)...)
	if err == nil || !strings.Contains(out, "cancelled") || !strings.Contains(out, "2/2") {
		t.Fatalf("show --follow of a cancelled job: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "2/2") && strings.Contains(line, "queued") {
			t.Fatalf("the final progress still counts queued tasks: %q", line)
		}
	}
	var j struct{ State string }
	r.Do(t, http.MethodGet, "/api/v1/orgs/"+org+"/jobs/"+m[1], tok, nil).JSON(t, &j)
	if j.State != store.JobCancelled {
		t.Fatalf("job state %q", j.State)
	}
}

func mustUser(t *testing.T, r *relaytest.Relay) store.User {
	t.Helper()
	u, err := r.Store.UserByEmail(context.Background(), relaytest.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
