package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// TestManagedDevicesFollowTheirProfile sets an AXIS OS version on the profile of managed
// cameras: the edge host's release check has the relay create the tasks, which wait for
// the organization's maintenance window and then bring every camera to the version.
func TestManagedDevicesFollowTheirProfile(t *testing.T) {
	const n, version = 3, "12.20.1"
	ro := startRollout(t, n)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), "--release-check-interval", "300ms"))
	ro.onboardAll(t)
	ro.publish(t, version)

	// A window that is not now: tasks are made but do not start.
	now := time.Now().UTC()
	closed := map[string]string{"start": now.Add(2 * time.Hour).Format("15:04"), "end": now.Add(3 * time.Hour).Format("15:04")}
	if res := ro.r.Do(t, http.MethodPatch, ro.orgPath(""), ro.token, map[string]any{"maintenanceWindow": closed}); res.Status != http.StatusOK {
		t.Fatalf("set window: %d %s", res.Status, res.Body)
	}
	if res := ro.r.Do(t, http.MethodPut, ro.orgPath("/profiles/default"), ro.token, map[string]any{"osVersion": version, "default": true}); res.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", res.Status, res.Body)
	}
	var jobs listOf[api.JobView]
	testtool.WaitFor(t, 20*time.Second, "the relay makes the profile's tasks", func() bool {
		jobs = listOf[api.JobView]{}
		ro.r.Do(t, http.MethodGet, ro.orgPath("/jobs"), ro.token, nil).JSON(t, &jobs)
		return len(jobs.Items) == 1 && jobs.Items[0].Counts[taskstate.Queued] == n
	})
	time.Sleep(time.Second) // a spell in which no camera may be upgraded: the window is closed
	for _, c := range ro.fleet.Cameras() {
		if c.FirmwareVersion() == version || c.Counters().FirmwareUploads != 0 {
			t.Fatalf("camera %s upgraded outside the maintenance window", c.Info().Serial)
		}
	}
	// The window opens (it is cleared): the cameras follow their profile, and no second
	// job is made for them while the first runs.
	if res := ro.r.Do(t, http.MethodPatch, ro.orgPath(""), ro.token, map[string]any{"maintenanceWindow": map[string]string{"start": "", "end": ""}}); res.Status != http.StatusOK {
		t.Fatalf("clear window: %d %s", res.Status, res.Body)
	}
	// The job keeps the window it was made with; the next check makes none while its
	// tasks are under way, so cancel it and let the check make a new one.
	if res := ro.r.Do(t, http.MethodPost, ro.orgPath("/jobs/"+jobs.Items[0].ID+"/cancel"), ro.token, nil); res.Status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	testtool.WaitFor(t, 60*time.Second, "every camera runs the profile's AXIS OS", func() bool {
		for _, c := range ro.fleet.Cameras() {
			if c.FirmwareVersion() != version {
				return false
			}
		}
		return true
	})
	testtool.WaitFor(t, 20*time.Second, "the inventory shows no difference from the profile", func() bool {
		res := ro.r.Do(t, http.MethodGet, ro.orgPath("/devices?mode=managed"), ro.token, nil)
		var l listOf[struct {
			FirmwareVersion string           `json:"firmwareVersion"`
			ProfileDiff     []map[string]any `json:"profileDiff"`
		}]
		res.JSON(t, &l)
		for _, d := range l.Items {
			if d.FirmwareVersion != version || len(d.ProfileDiff) != 0 {
				return false
			}
		}
		return len(l.Items) == n
	})
	for _, c := range ro.fleet.Cameras() {
		if got := c.Counters().FirmwareUploads; got != 1 {
			t.Errorf("camera %s received %d images", c.Info().Serial, got)
		}
	}
}
