package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// claim claims a camera for the relay's default organization, as a user would with the
// serial and key printed on the box, and returns the organization's ID.
func claim(t *testing.T, r *relaytest.Relay, serial, key string) string {
	t.Helper()
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r.Do(t, http.MethodGet, "/api/v1/orgs", tok, nil).JSON(t, &orgs)
	org := orgs.Items[0].ID
	res := r.Do(t, http.MethodPost, "/api/v1/orgs/"+org+"/devices", tok, map[string]any{"serial": serial, "oak": key})
	if res.Status != http.StatusCreated {
		t.Fatalf("claim %s: %d %s", serial, res.Status, res.Body)
	}
	return org
}

// enrollAndRun enrolls the agent of cam and runs it (with extra flags) until cancel;
// done then yields what run returned.
func enrollAndRun(t *testing.T, r *relaytest.Relay, cam *camsim.Camera, extra ...string) (cancel func(), done <-chan error) {
	t.Helper()
	data := t.TempDir()
	if out, err := run(t, enrollArgs(r, cam, data)...); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	return runAgent(data, append([]string{"--device", cam.Info().HTTP}, extra...)...)
}

// runAgent runs the agent enrolled in data with extra flags until cancel.
func runAgent(data string, extra ...string) (cancel func(), done <-chan error) {
	ctx, stop := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetArgs(append([]string{"run", "--data", data, "--log-level", "error"}, extra...))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		ch <- root.ExecuteContext(ctx)
	}()
	return stop, ch
}

func enrollArgs(r *relaytest.Relay, cam *camsim.Camera, data string) []string {
	return []string{"enroll", "--relay", r.URL, "--ca", r.CAFile, "--device", cam.Info().HTTP,
		"--device-user", camsimtest.User, "--device-password", camsimtest.Password, "--data", data}
}

func TestEnrollOnClaimedCamera(t *testing.T) {
	r := relaytest.Start(t)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	org := claim(t, r, cam.Info().Serial, cam.Info().OAK)
	data := t.TempDir()
	out, err := run(t, enrollArgs(r, cam, data)...)
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	id, err := identity.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if id.Org != org || id.AgentID != "dev_"+cam.Info().Serial {
		t.Fatalf("identity %s/%s, want %s/dev_%s", id.Org, id.AgentID, org, cam.Info().Serial)
	}
	d, err := r.Store.Device(context.Background(), org, cam.Info().Serial)
	if err != nil || d.AgentID != id.AgentID {
		t.Fatalf("relay inventory: %+v, %v", d, err)
	}
	if out, err := run(t, "status", "--data", data); err != nil || !strings.Contains(out, id.AgentID) {
		t.Fatalf("status: %v\n%s", err, out)
	}
}

func TestEnrollRefusals(t *testing.T) {
	r := relaytest.Start(t)
	fleet := camsimtest.Start(t, 2)
	claimedWrong, unclaimed := fleet.Cameras()[0], fleet.Cameras()[1]
	// Claimed with a key that is not the camera's: the proof cannot match.
	claim(t, r, claimedWrong.Info().Serial, "WRONG-KEY0-0000")
	if _, err := run(t, enrollArgs(r, claimedWrong, t.TempDir())...); err == nil || !strings.Contains(err.Error(), "proof") {
		t.Errorf("wrong key: %v, want the proof refused", err)
	}
	if _, err := run(t, enrollArgs(r, unclaimed, t.TempDir())...); err == nil || !strings.Contains(err.Error(), "claim") {
		t.Errorf("unclaimed camera: %v, want an error saying it must be claimed", err)
	}
	unclaimed.SetFaults(camsim.Faults{OAKUnavailable: true})
	if _, err := run(t, enrollArgs(r, unclaimed, t.TempDir())...); err == nil || !strings.Contains(err.Error(), "owner authentication key") {
		t.Errorf("camera without OAK: %v", err)
	}
}

// TestRunReportsTheCamera runs an enrolled devicehost: the relay shows the device
// connected, with the firmware its camera reports, and offline once the agent stops.
func TestRunReportsTheCamera(t *testing.T) {
	r := relaytest.Start(t)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	org := claim(t, r, cam.Info().Serial, cam.Info().OAK)
	cancel, done := enrollAndRun(t, r, cam)
	device := func() store.Device {
		d, err := r.Store.Device(context.Background(), org, cam.Info().Serial)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	testtool.WaitFor(t, 15*time.Second, "the device connected in the relay's inventory, with its firmware", func() bool {
		d := device()
		return d.Connected && d.FirmwareVersion == cam.FirmwareVersion()
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	testtool.WaitFor(t, 15*time.Second, "the device disconnected after its agent stopped", func() bool { return !device().Connected })
}
