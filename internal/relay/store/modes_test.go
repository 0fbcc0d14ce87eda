package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func TestModesAndDrift(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	_, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site-1", hash, c.Now().Add(time.Hour)))
	must[Device](t)(s.RegisterDevice(ctx, Device{Org: org.ID, Serial: "ACCC8E000009"}))
	if d := must[Device](t)(s.Device(ctx, org.ID, "ACCC8E000009")); d.EffectiveMode() != ModeStandalone {
		t.Fatalf("a registered device is %s, want standalone", d.EffectiveMode())
	}

	must[Device](t)(s.OnboardDevice(ctx, org.ID, h.ID, "ACCC8E000001", u.ID))
	report := func(r linkapi.DeviceReport) Device {
		t.Helper()
		r.Serial, r.Reachable = "ACCC8E000001", true
		if res, err := s.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{r}); err != nil || len(res.Ignored)+len(res.Forget) > 0 {
			t.Fatalf("report: %+v %v", res, err)
		}
		return must[Device](t)(s.Device(ctx, org.ID, "ACCC8E000001"))
	}
	d := report(linkapi.DeviceReport{FirmwareVersion: "11.11.124", Profile: "default"})
	if d.EffectiveMode() != ModeManaged || d.Profile != "default" || len(d.ModeHistory) != 1 {
		t.Fatalf("onboarded device: %+v", d)
	}
	managedAt := d.ManagedSince

	// A login from before the device became managed is not drift.
	c.Add(time.Minute)
	old := profile.Drift{Cause: profile.DriftLocalAdminUsed, Detail: "root", FirstSeen: managedAt.Add(-time.Second), LastSeen: managedAt.Add(-time.Second)}
	if d = report(linkapi.DeviceReport{Drift: []profile.Drift{old}}); d.EffectiveMode() != ModeManaged {
		t.Fatalf("an old login switched the device: %+v", d.ModeHistory)
	}
	app := profile.Drift{Cause: profile.DriftUnexpectedApp, Detail: "application Rogue 1.0 is not in profile default"}
	d = report(linkapi.DeviceReport{Drift: []profile.Drift{app}})
	last := d.ModeHistory[len(d.ModeHistory)-1]
	if d.EffectiveMode() != ModeConnected || last.From != ModeManaged || last.To != ModeConnected ||
		!strings.Contains(last.Reason, profile.DriftUnexpectedApp) || last.By != "system" || len(d.Drift) != 1 {
		t.Fatalf("after drift: mode %s, history %+v", d.EffectiveMode(), d.ModeHistory)
	}
	// An unreachable report keeps the last known state.
	if res, err := s.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: "ACCC8E000001"}}); err != nil || len(res.Ignored) > 0 {
		t.Fatal(err)
	}
	if d = must[Device](t)(s.Device(ctx, org.ID, "ACCC8E000001")); d.Connected || len(d.Drift) != 1 {
		t.Fatalf("unreachable report: %+v", d)
	}
	if got := must[[]Device](t)(func() ([]Device, error) {
		ds, _, err := s.ListDevices(ctx, org.ID, DeviceFilter{Mode: ModeConnected}, "", 10)
		return ds, err
	}()); len(got) != 1 || got[0].Serial != "ACCC8E000001" {
		t.Fatalf("filter by mode: %+v", got)
	}
}

func TestProfilesAndTasks(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	def := must[profile.Profile](t)(s.DefaultProfile(ctx, org.ID))
	if def.Name != DefaultProfileName || !def.Default {
		t.Fatalf("built-in default: %+v", def)
	}
	if err := s.PutProfile(ctx, org.ID, profile.Profile{Name: "lts", OSTrack: "lts-2024", Default: true}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProfile(ctx, org.ID, profile.Profile{Name: "lts"}, true); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := s.PutProfile(ctx, org.ID, profile.Profile{Name: "Bad Name"}, true); err == nil {
		t.Fatal("invalid profile stored")
	}
	if def = must[profile.Profile](t)(s.DefaultProfile(ctx, org.ID)); def.Name != "lts" {
		t.Fatalf("default after a new default: %+v", def)
	}
	if ps := must[[]profile.Profile](t)(s.Profiles(ctx, org.ID)); len(ps) != 2 || ps[0].Default || !ps[1].Default {
		t.Fatalf("one default only: %+v", ps)
	}

	_, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site-1", hash, c.Now().Add(time.Hour)))
	now := c.Now()
	running := linkapi.TaskReport{ID: "tsk_1", Kind: "onboard", Serial: "ACCC8E000001", State: taskstate.Running,
		Transitions: []linkapi.Transition{{State: taskstate.Queued, At: now}, {State: taskstate.Running, At: now}}}
	done := running
	done.State = taskstate.Succeeded
	done.Transitions = append(done.Transitions[:2:2], linkapi.Transition{State: taskstate.Succeeded, At: now})
	for _, batch := range [][]linkapi.TaskReport{{running}, {done}, {running}, {done}} { // repeats and a stale one
		if _, err := s.PutTasks(ctx, org.ID, h.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	ts := must[[]Task](t)(s.Tasks(ctx, org.ID, TaskFilter{}, 100))
	if len(ts) != 1 || ts[0].State != taskstate.Succeeded || len(ts[0].Transitions) != 3 || ts[0].EdgeHost != h.ID {
		t.Fatalf("tasks: %+v", ts)
	}
	if _, err := s.PutTasks(ctx, org.ID, "eh_other", []linkapi.TaskReport{{ID: "tsk_1", State: taskstate.Failed, Transitions: make([]linkapi.Transition, 9)}}); err != nil {
		t.Fatal(err)
	}
	if got := must[Task](t)(s.Task(ctx, org.ID, "tsk_1")); got.State != taskstate.Succeeded {
		t.Fatalf("another agent overwrote a task: %+v", got)
	}
}
