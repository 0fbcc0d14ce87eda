package main

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// BenchmarkRollout rolls a firmware upgrade out to 1,000 simulated cameras with at most
// 100 in flight, each upgrade taking 2 s on the camera (its reboot). The ideal is 10
// waves of 2 s: 20 s. It reports the rollout's time beside the ideal, and the overhead
// each task adds (dispatch through the relay, the link, the journal, the upload and the
// checks around it): (elapsed - ideal) / tasks per slot.
func BenchmarkRollout(b *testing.B) {
	const (
		n        = 1000
		inFlight = 100
		upgrade  = 2 * time.Second
	)
	ro := startRollout(b, n, func(c *camsim.Config) { c.RebootDelay = upgrade })
	ro.runEdgeHostFlags(b, append(ro.runFlags(), "--task-concurrency", "200", "--report-interval", "1m"))
	ro.onboardAll(b)
	ideal := time.Duration(math.Ceil(float64(n)/inFlight)) * upgrade
	for i := 0; b.Loop(); i++ {
		version := "12.30." + strconv.Itoa(i+1)
		ro.publish(b, version)
		start := time.Now()
		id := ro.createJob(b, map[string]any{"kind": "firmware", "params": map[string]any{"version": version}, "all": true,
			"policy": map[string]any{"maxInFlight": inFlight}})
		j := ro.waitJob(b, id, 10*time.Minute)
		elapsed := time.Since(start)
		if j.State != "succeeded" {
			b.Fatalf("rollout %s: %v", j.State, j.Counts)
		}
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(elapsed.Seconds()/ideal.Seconds(), "x-ideal")
		b.ReportMetric(float64((elapsed-ideal).Milliseconds())/(n/inFlight), "overhead-ms/task")
	}
}
