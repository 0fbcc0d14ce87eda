package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// A firmware task's success shows in the inventory at once, with the version the task
// reports, not a poll of the device later; a report of another agent, or of a task that
// did not succeed, changes nothing.
func TestFirmwareSuccessUpdatesInventory(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site", [32]byte{1}, c.Now().Add(time.Hour)))
	other := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "other", [32]byte{2}, c.Now().Add(time.Hour)))
	const serial = "ACCC8E000001"
	must[Device](t)(s.OnboardDevice(ctx, org.ID, h.ID, serial, u.ID))
	must[ReportResult](t)(s.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: serial, Reachable: true, FirmwareVersion: "11.11.1",
		Diff: []profile.Change{{Kind: "os", Want: "11.11.9", Have: "11.11.1"}, {Kind: "overlay", Want: "Lobby"}}}}))

	report := func(agent, id string, state taskstate.State, version string) {
		t.Helper()
		res, _ := json.Marshal(map[string]any{"version": version, "uploaded": true})
		r := linkapi.TaskReport{ID: id, Attempt: 1, Kind: "firmware", Serial: serial, State: state,
			Transitions: []linkapi.Transition{{State: state, At: c.Now(), Attempt: 1}}}
		if state == taskstate.Succeeded {
			r.Result = res
		}
		if refused, err := s.PutTasks(ctx, org.ID, agent, []linkapi.TaskReport{r}); err != nil || len(refused) > 0 {
			t.Fatalf("report %s: refused %v, %v", id, refused, err)
		}
	}
	firmware := func() Device {
		t.Helper()
		return must[Device](t)(s.Device(ctx, org.ID, serial))
	}
	report(h.ID, "tsk_fail", taskstate.Failed, "11.11.9")
	report(other.ID, "tsk_other", taskstate.Succeeded, "11.11.7")
	if d := firmware(); d.FirmwareVersion != "11.11.1" {
		t.Fatalf("firmware %s after a failed task and another edge host's report, want 11.11.1", d.FirmwareVersion)
	}
	report(h.ID, "tsk_ok", taskstate.Succeeded, "11.11.9")
	d := firmware()
	if d.FirmwareVersion != "11.11.9" {
		t.Errorf("firmware %s right after the upgrade succeeded, want 11.11.9", d.FirmwareVersion)
	}
	if len(d.Diff) != 1 || d.Diff[0].Kind != "overlay" {
		t.Errorf("difference to the profile after the upgrade: %v, want the overlay only", d.Diff)
	}
}
