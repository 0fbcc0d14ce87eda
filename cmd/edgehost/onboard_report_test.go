package main

import (
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// TestOnboardedCamerasConnectedAtOnce: with the default minute between periodic reports
// (here ten, so that only the reports onboarding itself causes can count), cameras
// onboarded through the relay's API are listed connected within seconds, and after a
// firmware job the device list shows the new AXIS OS version as the job ends. One
// camera: with several, a report sent for a later one may happen to carry an earlier one
// the relay took meanwhile, and hide a report sent too early.
func TestOnboardedCamerasConnectedAtOnce(t *testing.T) {
	const n = 1
	ro := startRollout(t, n)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), "--report-interval", "10m"))
	start := time.Now()
	ro.onboardAllWithin(t, 5*time.Second)
	t.Logf("found, onboarded and listed connected in %s", time.Since(start).Round(time.Millisecond))

	const version = "12.20.1"
	ro.publish(t, version)
	id := ro.createJob(t, map[string]any{"kind": "firmware", "params": map[string]any{"version": version}, "all": true})
	if j := ro.waitJob(t, id, 2*time.Minute); j.State != store.JobSucceeded {
		t.Fatalf("firmware job ended %s: %v", j.State, j.Counts)
	}
	var stale []string
	for _, d := range ro.devices(t, "") {
		if d.Firmware != version {
			stale = append(stale, d.Serial+" "+d.Firmware)
		}
	}
	if len(stale) > 0 {
		t.Fatalf("after the firmware job, devices listed with another version than %s: %v", version, stale)
	}
}
