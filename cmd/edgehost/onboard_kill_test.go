package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/cli"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// childArgsEnv, set, makes the test binary `edgehost` with these arguments (JSON): see
// TestEdgeHostChild.
const childArgsEnv = "CAMCLOUD_TEST_EDGEHOST_ARGS"

// TestEdgeHostChild is not a test: it is `edgehost` when another test runs this binary
// as a child process (startChild), so that the child can be killed with SIGKILL.
func TestEdgeHostChild(t *testing.T) {
	raw := os.Getenv(childArgsEnv)
	if raw == "" {
		t.Skip("runs only as a child process of another test")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	root := newRootCommand()
	root.SetArgs(args)
	cli.Main(root)
	os.Exit(0)
}

// startChild runs `edgehost` with args as a child process; it is killed at the end of
// the test if it still runs.
func startChild(t *testing.T, args []string) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEdgeHostChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(raw))
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestOnboardingSurvivesKill is the acceptance of one task journal: an edge host
// process onboarding 50 cameras is killed with SIGKILL mid-way and started again. Every
// camera ends onboarded, or its task failed as interrupted (its admin credentials were
// in memory only); the relay shows each task ended; and the agent's device store holds
// no tasks of its own.
func TestOnboardingSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 50 cameras and two edge host processes")
	}
	const n = 50
	ro := startRollout(t, n)
	ctx := context.Background()
	flags := slices.Clone(ro.runFlags())
	flags[slices.Index(flags, "--task-concurrency")+1] = "4"
	child := startChild(t, flags)

	// Slow cameras, so that the kill lands while onboarding runs.
	slow := camsim.Faults{Latency: 100 * time.Millisecond}
	path := ro.orgPath("/edgehosts/" + ro.id.AgentID + "/discovered")
	var found listOf[discoveredJSON]
	testtool.WaitFor(t, 60*time.Second, "every camera found", func() bool {
		ro.r.Do(t, http.MethodGet, path, ro.token, nil).JSON(t, &found)
		return len(found.Items) == n
	})
	for _, c := range ro.fleet.Cameras() {
		c.SetFaults(slow)
	}
	var devices []map[string]string
	for _, d := range found.Items {
		devices = append(devices, map[string]string{"serial": d.Serial, "username": camsimtest.User, "password": camsimtest.Password})
	}
	res := ro.r.Do(t, http.MethodPost, ro.orgPath("/edgehosts/"+ro.id.AgentID+"/onboard"), ro.token, map[string]any{"devices": devices})
	if res.Status != http.StatusAccepted {
		t.Fatalf("onboard: %d %s", res.Status, res.Body)
	}
	onboardTasks := func() []store.Task {
		ts, err := ro.r.Store.Tasks(ctx, ro.id.Org, store.TaskFilter{Kind: taskkind.Onboard}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	count := func(ts []store.Task, s taskstate.State) (k int) {
		for _, tk := range ts {
			if tk.State == s {
				k++
			}
		}
		return k
	}
	testtool.WaitFor(t, 60*time.Second, "some onboardings succeed", func() bool { return count(onboardTasks(), taskstate.Succeeded) >= 3 })
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	before := onboardTasks()
	if k := count(before, taskstate.Succeeded); k == n {
		t.Fatal("every onboarding ended before the kill: nothing was interrupted")
	}

	for _, c := range ro.fleet.Cameras() {
		c.SetFaults(camsim.Faults{})
	}
	again := startChild(t, flags)
	testtool.WaitFor(t, 60*time.Second, "every onboarding task ends at the relay", func() bool {
		ts := onboardTasks()
		if len(ts) != n {
			return false
		}
		for _, tk := range ts {
			if !tk.State.Final() {
				return false
			}
		}
		return true
	})
	interrupted := 0
	serials := map[string]bool{}
	for _, tk := range onboardTasks() {
		serials[tk.Serial] = true
		switch {
		case tk.State == taskstate.Succeeded:
		case tk.State == taskstate.Failed && tk.Detail == fleet.Interrupted:
			interrupted++
		default:
			t.Errorf("task %s of %s ended %s: %q", tk.ID, tk.Serial, tk.State, tk.Detail)
		}
	}
	if len(serials) != n {
		t.Errorf("%d cameras have an onboarding task, want %d", len(serials), n)
	}
	if interrupted == 0 {
		t.Error("no onboarding failed as interrupted: the kill did not land mid-onboarding")
	}
	// Every camera that succeeded is managed at the relay.
	testtool.WaitFor(t, 30*time.Second, "the onboarded cameras managed at the relay", func() bool {
		return len(ro.devices(t, "mode=managed")) == n-interrupted
	})
	t.Logf("%d onboarded, %d interrupted", n-interrupted, interrupted)

	if err := again.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = again.Wait()
	if got := bucketsOf(t, filepath.Join(ro.data, devstore.DBFile)); !slices.Equal(got, []string{"devices"}) {
		t.Errorf("the device store has buckets %v, want devices only", got)
	}
}

// bucketsOf lists the top-level buckets of a bbolt file no process holds.
func bucketsOf(t *testing.T, path string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error { out = append(out, string(name)); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
