package api_test

import (
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// A job and its tasks name the person who created them by e-mail address, beside the ID
// (to an operator too, who cannot list the members), and so does the audit log.
func TestJobAndAuditNameThePerson(t *testing.T) {
	r, tok, org := adminSetup(t)
	admin := r.Store
	var h struct{ ID string }
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "site-1"}).JSON(t, &h)
	const serial = "ACCC8E040002"
	if _, err := admin.OnboardDevice(t.Context(), org, h.ID, serial, "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ReportDevices(t.Context(), org, h.ID, []linkapi.DeviceReport{{Serial: serial, Model: "P3265-V", Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	type job struct{ ID, CreatedBy, CreatedByEmail string }
	var created job
	res := r.Do(t, "POST", "/api/v1/orgs/"+org+"/jobs", tok, map[string]any{"kind": "overlay", "params": map[string]string{"text": "hi"},
		"devices": []string{serial}})
	if res.Status != 201 {
		t.Fatalf("create job: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &created)
	if created.CreatedBy == "" || created.CreatedByEmail != relaytest.AdminEmail {
		t.Fatalf("created job names %q (%q), want %s", created.CreatedByEmail, created.CreatedBy, relaytest.AdminEmail)
	}

	u := r.CreateUser(t, "op@example.com", "operator-password-1")
	if _, err := admin.AddMember(t.Context(), org, u.ID, role.Operator); err != nil {
		t.Fatal(err)
	}
	op := r.Login(t, "op@example.com", "operator-password-1")
	var one job
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/jobs/"+created.ID, op, nil).JSON(t, &one)
	var list struct{ Items []job }
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/jobs", op, nil).JSON(t, &list)
	if one != created || len(list.Items) != 1 || list.Items[0] != created {
		t.Errorf("the operator sees %+v and %+v, want %+v", one, list.Items, created)
	}

	var tasks struct {
		Items []struct{ CreatedBy, CreatedByEmail string }
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/tasks?job="+created.ID, op, nil).JSON(t, &tasks)
	if len(tasks.Items) != 1 || tasks.Items[0].CreatedByEmail != relaytest.AdminEmail || tasks.Items[0].CreatedBy != created.CreatedBy {
		t.Errorf("the job's tasks name %+v", tasks.Items)
	}

	type entry struct{ Action, Principal, PrincipalEmail string }
	var audit struct{ Items []entry }
	testtool.WaitFor(t, 10*time.Second, "the job's creation in the audit log", func() bool {
		r.Do(t, "GET", "/api/v1/orgs/"+org+"/audit?action=job.create", tok, nil).JSON(t, &audit)
		return len(audit.Items) == 1
	})
	if want := (entry{"job.create", created.CreatedBy, relaytest.AdminEmail}); audit.Items[0] != want {
		t.Errorf("audit entry %+v, want %+v", audit.Items[0], want)
	}
}
