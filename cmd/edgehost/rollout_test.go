package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// rollout is a relay, a fleet of simulated cameras and an edge host that manages them
// all, found by address (no multicast needed).
type rollout struct {
	*edgeHostEnv
	fleet *camsim.Fleet
	adds  []string // --add flags for every camera
}

func startRollout(t testing.TB, n int, opts ...func(*camsim.Config)) *rollout {
	t.Helper()
	return startRolloutOn(t, startEdgeHostEnv(t), n, opts...)
}

// startRolloutOn is startRollout with the relay and edge host of env.
func startRolloutOn(t testing.TB, env *edgeHostEnv, n int, opts ...func(*camsim.Config)) *rollout {
	t.Helper()
	ro := &rollout{edgeHostEnv: env, fleet: camsimtest.Start(t, n, opts...)}
	for _, c := range ro.fleet.Cameras() {
		ro.adds = append(ro.adds, "--add", strings.TrimPrefix(c.Info().HTTP, "http://"))
	}
	return ro
}

// runFlags are `edgehost run`'s flags for the rollout tests.
func (ro *rollout) runFlags() []string {
	return append([]string{"run", "--data", ro.data, "--log-level", "warn", "--no-mdns", "--report-interval", "500ms",
		"--task-concurrency", "100", "--reboot-wait", "30s", "--allow-device-net", loopbackNets}, ro.adds...)
}

// onboardAll waits until the edge host found every camera, onboards them all, and waits
// until the relay shows them managed.
func (ro *rollout) onboardAll(t testing.TB) {
	t.Helper()
	ro.onboardAllWithin(t, 60*time.Second)
}

// onboardAllWithin is onboardAll, the relay showing every camera managed and connected
// within d of the request to onboard them.
func (ro *rollout) onboardAllWithin(t testing.TB, d time.Duration) {
	t.Helper()
	n := len(ro.fleet.Cameras())
	path := ro.orgPath("/edgehosts/" + ro.id.AgentID + "/discovered")
	var found listOf[discoveredJSON]
	testtool.WaitFor(t, 30*time.Second, "every camera found", func() bool {
		ro.r.Do(t, http.MethodGet, path, ro.token, nil).JSON(t, &found)
		return len(found.Items) == n
	})
	var devices []map[string]string
	for _, d := range found.Items {
		devices = append(devices, map[string]string{"serial": d.Serial, "username": camsimtest.User, "password": camsimtest.Password})
	}
	res := ro.r.Do(t, http.MethodPost, ro.orgPath("/edgehosts/"+ro.id.AgentID+"/onboard"), ro.token, map[string]any{"devices": devices})
	if res.Status != http.StatusAccepted {
		t.Fatalf("onboard: %d %s", res.Status, res.Body)
	}
	testtool.WaitFor(t, d, "every camera managed and connected", func() bool { return len(ro.devices(t, "mode=managed&connected=true")) == n })
}

// publish adds an AXIS OS release that fits every camera and returns its version.
func (ro *rollout) publish(t testing.TB, version string) {
	t.Helper()
	img := camsim.FirmwareImage(camsim.FirmwareHeader{Version: version})
	admin := ro.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	req, _ := http.NewRequest(http.MethodPost, ro.r.URL+"/api/v1/releases?kind=os&version="+version, bytes.NewReader(img))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := ro.r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish %s: %s", version, resp.Status)
	}
}

func (ro *rollout) createJob(t testing.TB, body map[string]any) string {
	t.Helper()
	res := ro.r.Do(t, http.MethodPost, ro.orgPath("/jobs"), ro.token, body)
	if res.Status != http.StatusCreated {
		t.Fatalf("create job: %d %s", res.Status, res.Body)
	}
	var j api.JobView
	res.JSON(t, &j)
	return j.ID
}

func (ro *rollout) waitJob(t testing.TB, id string, within time.Duration) api.JobView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var j api.JobView
		ro.r.Do(t, http.MethodGet, ro.orgPath("/jobs/"+id), ro.token, nil).JSON(t, &j)
		if j.State != store.JobRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still running after %s: %v", id, within, j.Counts)
		}
		time.Sleep(250 * time.Millisecond) // the job's progress costs the relay a read of every task
	}
}

func (ro *rollout) tasks(t testing.TB, job string) map[string]api.TaskView {
	t.Helper()
	var l listOf[api.TaskView]
	ro.r.Do(t, http.MethodGet, ro.orgPath("/tasks?limit=1000&job="+job), ro.token, nil).JSON(t, &l)
	out := map[string]api.TaskView{}
	for _, tk := range l.Items {
		out[tk.Serial] = tk
	}
	return out
}

// TestRolloutRetriesAndAborts rolls a firmware upgrade out to 200 cameras of which 5 %
// of upgrades fail: failed attempts are retried, and the final counts match what the
// cameras run and how many images each received. Then with 30 % failing, an abort rule
// of 10 % stops new starts.
func TestRolloutRetriesAndAborts(t *testing.T) {
	const n = 200
	ro := startRollout(t, n, func(c *camsim.Config) { c.Faults = camsim.Faults{UpgradeFailRate: 0.05} })
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	ro.publish(t, "12.20.1")
	id := ro.createJob(t, map[string]any{"kind": "firmware", "params": map[string]any{"version": "12.20.1"}, "all": true,
		"policy": map[string]any{"maxInFlight": 50}, "retry": map[string]any{"maxAttempts": 3, "backoffSeconds": 0}})
	j := ro.waitJob(t, id, 3*time.Minute)
	tasks := ro.tasks(t, id)
	if len(tasks) != n || j.Counts[taskstate.Succeeded]+j.Counts[taskstate.Failed] != n {
		t.Fatalf("job %s ended %s with counts %v over %d tasks", id, j.State, j.Counts, len(tasks))
	}
	retried := 0
	for _, c := range ro.fleet.Cameras() {
		tk := tasks[c.Info().Serial]
		uploads := c.Counters().FirmwareUploads
		if uploads != int64(tk.Attempt) {
			t.Errorf("camera %s received %d images in %d attempts", c.Info().Serial, uploads, tk.Attempt)
		}
		switch tk.State {
		case taskstate.Succeeded:
			if v := c.FirmwareVersion(); v != "12.20.1" {
				t.Errorf("camera %s: task succeeded, camera runs %s", c.Info().Serial, v)
			}
		case taskstate.Failed:
			if tk.Attempt != 3 || c.FirmwareVersion() == "12.20.1" {
				t.Errorf("camera %s: failed after %d attempts, runs %s", c.Info().Serial, tk.Attempt, c.FirmwareVersion())
			}
		}
		if tk.Attempt > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no upgrade was retried, though 5 % fail") // 0.95^200: once in 30,000 runs
	}
	t.Logf("first rollout: %s %v, %d cameras needed a retry", j.State, j.Counts, retried)

	// 30 % of upgrades fail now; the job may lose at most 10 % before it stops starting.
	for _, c := range ro.fleet.Cameras() {
		c.SetFaults(camsim.Faults{UpgradeFailRate: 0.3})
	}
	ro.publish(t, "12.20.2")
	id = ro.createJob(t, map[string]any{"kind": "firmware", "params": map[string]any{"version": "12.20.2"}, "all": true,
		"policy": map[string]any{"maxInFlight": 10, "abortPercent": 10}})
	j = ro.waitJob(t, id, 3*time.Minute)
	started := 0
	for _, tk := range ro.tasks(t, id) {
		if tk.State != taskstate.Cancelled {
			started++
		}
	}
	if j.State != store.JobAborted || j.Counts[taskstate.Failed] < n/10 || j.Counts[taskstate.Cancelled] == 0 || started >= n {
		t.Fatalf("job %s: %s (%s), counts %v, %d of %d started", id, j.State, j.Reason, j.Counts, started, n)
	}
	t.Logf("second rollout: %s (%s), %v", j.State, j.Reason, j.Counts)
}

// TestRolloutSurvivesKilledEdgeHost kills the edge host (its own process) with SIGKILL at
// random moments of a rollout, five times, restarting it each time: no task is lost, no
// camera receives the image twice, and every task ends. Then the relay restarts in the
// middle of a second rollout: nothing is lost or done twice.
func TestRolloutSurvivesKilledEdgeHost(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "edgehost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build edgehost: %v\n%s", err, out)
	}
	const n = 40
	ro := startRollout(t, n, func(c *camsim.Config) { c.RebootDelay = time.Second })
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, ro.runFlags()...)
		cmd.Stderr = t.Output()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ro.onboardAll(t)
	ro.publish(t, "12.20.1")
	id := ro.createJob(t, map[string]any{"kind": "firmware", "params": map[string]any{"version": "12.20.1"}, "all": true,
		"policy": map[string]any{"maxInFlight": 8}})
	for i := range 5 {
		time.Sleep(time.Duration(300+i*370) * time.Millisecond) // kills at varied points of the rollout
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cmd = start()
	}
	j := ro.waitJob(t, id, 3*time.Minute)
	checkExactlyOnce(t, ro, id, j, "12.20.1", 1)

	// The relay restarts in the middle of the next rollout.
	ro.publish(t, "12.20.3")
	id = ro.createJob(t, map[string]any{"kind": "firmware", "params": map[string]any{"version": "12.20.3"}, "all": true,
		"policy": map[string]any{"maxInFlight": 8}})
	testtool.WaitFor(t, time.Minute, "the rollout under way", func() bool {
		var j api.JobView
		ro.r.Do(t, http.MethodGet, ro.orgPath("/jobs/"+id), ro.token, nil).JSON(t, &j)
		return j.Counts[taskstate.Running]+j.Counts[taskstate.Succeeded] > 0
	})
	ro.r.Restart(t)
	ro.token = ro.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	j = ro.waitJob(t, id, 3*time.Minute)
	checkExactlyOnce(t, ro, id, j, "12.20.3", 2)
}

// checkExactlyOnce: every task of the job succeeded, every camera runs version and has
// received exactly uploads images in all.
func checkExactlyOnce(t *testing.T, ro *rollout, job string, j api.JobView, version string, uploads int64) {
	t.Helper()
	tasks := ro.tasks(t, job)
	if j.State != store.JobSucceeded || j.Counts[taskstate.Succeeded] != len(ro.fleet.Cameras()) || len(tasks) != len(ro.fleet.Cameras()) {
		t.Fatalf("job %s: %s, counts %v", job, j.State, j.Counts)
	}
	for _, c := range ro.fleet.Cameras() {
		if got := c.Counters().FirmwareUploads; got != uploads || c.FirmwareVersion() != version {
			tk := tasks[c.Info().Serial]
			var steps []string
			for _, tr := range tk.Transitions {
				steps = append(steps, tr.State.String()+" "+tr.Detail)
			}
			t.Errorf("camera %s: %d images received (want %d), runs %s; task: %s", c.Info().Serial, got, uploads, c.FirmwareVersion(), strings.Join(steps, " | "))
		}
	}
}
