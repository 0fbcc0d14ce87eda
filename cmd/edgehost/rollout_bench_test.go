package main

import (
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
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
		if j.State != store.JobSucceeded {
			b.Fatalf("rollout %s: %v", j.State, j.Counts)
		}
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(elapsed.Seconds()/ideal.Seconds(), "x-ideal")
		b.ReportMetric(float64((elapsed-ideal).Milliseconds())/(n/inFlight), "overhead-ms/task")
		// Where a task's time goes: dispatched to running (the link and the journal),
		// running to succeeded (the VAPIX calls and the camera's 2 s reboot).
		var toRun, onDevice time.Duration
		counted := 0
		for _, tk := range ro.tasks(b, id) {
			if os.Getenv("ROLLOUT_DEBUG") != "" {
				b.Logf("%s: %+v", tk.Serial, tk.Transitions)
			}
			at := map[taskstate.State]time.Time{}
			for _, tr := range tk.Transitions {
				if _, seen := at[tr.State]; !seen {
					at[tr.State] = tr.At
				}
			}
			if at[taskstate.Dispatched].IsZero() || at[taskstate.Running].IsZero() || at[taskstate.Succeeded].IsZero() {
				continue // an agent report not merged yet
			}
			counted++
			toRun += at[taskstate.Running].Sub(at[taskstate.Dispatched])
			onDevice += at[taskstate.Succeeded].Sub(at[taskstate.Running])
		}
		b.ReportMetric(float64(toRun.Milliseconds())/float64(counted), "dispatch-to-run-ms/task")
		b.ReportMetric(float64(onDevice.Milliseconds())/float64(counted), "running-ms/task")
	}
}
