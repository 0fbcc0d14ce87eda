package taskmgr

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskkind"
)

// A profile on "latest" rolls out the newest release of its track for the device's
// model as it is when the job is made: one published after the agent last compared the
// device with its profile is the one installed.
func TestEnforcementResolvesLatestOS(t *testing.T) {
	const serial = "ACCC8E000001"
	e := newEnv(t)
	ctx := context.Background()
	cat, err := releasefiles.Open(t.TempDir(), e.st)
	if err != nil {
		t.Fatal(err)
	}
	enf, err := NewEnforcer(EnforcerConfig{Store: e.st, Releases: cat})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(version string) {
		t.Helper()
		if _, err := cat.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: version, Products: []string{"P3265-V"}}, strings.NewReader("AXIS OS "+version)); err != nil {
			t.Fatal(err)
		}
	}
	publish("12.11.80")
	if err := e.st.PutProfile(ctx, e.org, profile.Profile{Name: "newest", OSTrack: profile.TrackActive, OSVersion: profile.LatestOS}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.OnboardDevice(ctx, e.org, e.host, serial, "usr_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateDevice(ctx, e.org, serial, func(d *store.Device) error { d.Profile = "newest"; return nil }); err != nil {
		t.Fatal(err)
	}
	// The agent compared the device with the profile resolved to 12.11.80.
	if _, err := e.st.ReportDevices(ctx, e.org, e.host, []linkapi.DeviceReport{{Serial: serial, Reachable: true, Model: "P3265-V",
		FirmwareVersion: "12.11.60", Diff: []profile.Change{{Kind: "os", Want: "12.11.80", Have: "12.11.60"}}}}); err != nil {
		t.Fatal(err)
	}
	publish("12.11.90")
	res, err := enf.Enforce(ctx, e.org, e.host)
	if err != nil || res.Tasks != 1 {
		t.Fatalf("enforce: %+v %v", res, err)
	}
	ts, err := e.st.Tasks(ctx, e.org, store.TaskFilter{JobID: res.Job}, 10)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tasks of the job: %v %v", ts, err)
	}
	var p taskkind.FirmwareParams
	if err := json.Unmarshal(ts[0].Params, &p); err != nil {
		t.Fatal(err)
	}
	if ts[0].Kind != taskkind.Firmware || p.Version != "12.11.90" {
		t.Errorf("task %s to AXIS OS %s, want firmware to 12.11.90", ts[0].Kind, p.Version)
	}
}
