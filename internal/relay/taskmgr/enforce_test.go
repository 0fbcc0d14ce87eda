package taskmgr

import (
	"context"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// A profile task waits for the maintenance window; meanwhile the device drifts and drops
// to connected ("changed only on request"). Its queued profile task must not be given to
// the agent but cancelled, saying why; a device still managed in the same job gets its
// task.
func TestProfileTaskNotDispatchedAfterDeviceLeftManaged(t *testing.T) {
	const drifted, managed = "ACCC8E000001", "ACCC8E000002"
	e := newEnv(t)
	ctx := context.Background()
	// Onboarded by the edge host (managed), each with one difference from its profile.
	diff := []profile.Change{{Kind: "param", Target: "Image.I0.Appearance.Resolution", Want: "1920x1080"}}
	for _, serial := range []string{drifted, managed} {
		if _, err := e.st.OnboardDevice(ctx, e.org, e.host, serial, "usr_test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.ReportDevices(ctx, e.org, e.host, []linkapi.DeviceReport{
		{Serial: drifted, Reachable: true, Diff: diff}, {Serial: managed, Reachable: true, Diff: diff}}); err != nil {
		t.Fatal(err)
	}
	enf, err := NewEnforcer(EnforcerConfig{Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	res, err := enf.Enforce(ctx, e.org, e.host)
	if err != nil || res.Job == "" || res.Tasks != 2 {
		t.Fatalf("enforce: %+v %v", res, err)
	}
	// One device drifts (someone changed it by hand): the relay drops it to connected.
	if _, err := e.st.UpdateDevice(ctx, e.org, drifted, func(d *store.Device) error {
		d.SetMode(store.ModeConnected, "admin-login: drift", "system", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	j, err := e.st.Job(ctx, e.org, res.Job)
	if err != nil {
		t.Fatal(err)
	}
	e.step(t, j)
	given := e.agent.take()
	ts, err := e.st.Tasks(ctx, e.org, store.TaskFilter{JobID: j.ID}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		switch tk.Serial {
		case drifted:
			if len(given) != 1 || given[0] == tk.ID {
				t.Fatalf("gave %v: the profile task %s of a device now in connected mode among them", given, tk.ID)
			}
			if tk.State != taskstate.Cancelled || tk.Detail != noLongerManaged {
				t.Errorf("the drifted device's task is %s (%q), want cancelled (%q)", tk.State, tk.Detail, noLongerManaged)
			}
		case managed:
			if len(given) != 1 || given[0] != tk.ID {
				t.Errorf("gave %v, want the managed device's task %s", given, tk.ID)
			}
		}
	}
}
