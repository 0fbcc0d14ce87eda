package runners

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// fakeDevices keeps the agent's passwords for one simulated camera, as the agent's
// store does. onPending runs when a rotation stores its pending password (to break the
// device's next answer); transport, when set, carries the clients' requests.
type fakeDevices struct {
	mu               sync.Mutex
	cam              *camsim.Camera
	current, pending string
	onPending        func()
	transport        http.RoundTripper
}

func (d *fakeDevices) Client(context.Context, string) (*vapix.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.client(d.current)
}

func (d *fakeDevices) client(password string) (*vapix.Client, error) {
	return vapix.New(vapix.Config{BaseURL: d.cam.Info().HTTP, User: camsimtest.User, Password: password,
		Transport: d.transport, Timeout: 5 * time.Second})
}

func (d *fakeDevices) SetPassword(_ string, p string, pending bool) error {
	d.mu.Lock()
	if pending {
		d.pending = p
	} else {
		d.current, d.pending = p, ""
	}
	f := d.onPending
	d.mu.Unlock()
	if pending && f != nil {
		f()
	}
	return nil
}

func (d *fakeDevices) Passwords(string) (string, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current, d.pending, nil
}

// works reports whether the device takes password for the agent's account.
func (d *fakeDevices) works(t *testing.T, password string) bool {
	t.Helper()
	c, err := d.client(password)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, _, err = c.WhoAmI(context.Background())
	if err != nil && !errors.Is(err, vapix.ErrUnauthorized) {
		t.Fatalf("who am I: %v", err)
	}
	return err == nil
}

// accountChanges passes requests to the device, but for account changes (pwdgrp.cgi):
// with lose set, the device applies the change and its answer is lost (a broken
// connection, as when the agent times out or crashes after the device acted); with
// ignore set, the change is answered OK but never reaches the device.
type accountChanges struct {
	lose, ignore atomic.Bool
}

func (a *accountChanges) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/axis-cgi/pwdgrp.cgi" {
		return http.DefaultTransport.RoundTrip(req)
	}
	if a.ignore.Load() {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("OK")), Request: req}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !a.lose.Load() {
		return resp, err
	}
	resp.Body.Close()
	return nil, errors.New("connection reset by peer (the answer was lost)")
}

func rotateTask(cam *camsim.Camera, attempt int) taskengine.Task {
	return taskengine.Task{ID: "t", Attempt: attempt, Kind: taskkind.RotateAccount, Serial: cam.Info().Serial}
}

// checkRotated checks that a rotation ended with a new current password that the device
// takes, the old one refused and no rotation left under way.
func checkRotated(t *testing.T, devs *fakeDevices, old string) {
	t.Helper()
	current, pending, _ := devs.Passwords("")
	if current == old || pending != "" {
		t.Fatalf("after the rotation: current changed %v, pending %q", current != old, pending)
	}
	if !devs.works(t, current) {
		t.Fatal("the agent's stored password does not work on the device")
	}
	if devs.works(t, old) {
		t.Fatal("the device still takes the old password")
	}
}

// A rotation whose password change the device refused leaves a pending password; the
// retry must not make that password current without the device having taken it: it
// keeps the working password, drops the pending one and rotates anew.
func TestRotateAccountRetryAfterRefusedChangeKeepsAccess(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	devs := &fakeDevices{cam: cam, current: camsimtest.Password}
	devs.onPending = func() { cam.SetFaults(camsim.Faults{ErrorRate: 1}) } // the change is answered 500
	r := &runners{cfg: Config{Devices: devs, RebootWait: time.Second}}
	ctx := context.Background()
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 1), func(string) {}); err == nil {
		t.Fatal("attempt 1 succeeded though the device refused the change")
	}
	if current, pending, _ := devs.Passwords(""); current != camsimtest.Password || pending == "" {
		t.Fatalf("after the refused change: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	cam.SetFaults(camsim.Faults{})
	devs.onPending = nil
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 2), func(string) {}); err != nil { // the task manager's retry
		t.Fatalf("attempt 2: %v", err)
	}
	checkRotated(t, devs, camsimtest.Password)
}

// A rotation whose password change the device applied but whose answer was lost (or
// the agent crashed before it came) fails with the new password pending; the next
// attempt finds that the device refuses the current password and takes the pending one,
// and ends with the agent holding the password that works.
func TestRotateAccountRetryAfterLostAnswer(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	changes := &accountChanges{}
	changes.lose.Store(true)
	devs := &fakeDevices{cam: cam, current: camsimtest.Password, transport: changes}
	r := &runners{cfg: Config{Devices: devs, RebootWait: time.Second}}
	ctx := context.Background()
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 1), func(string) {}); err == nil {
		t.Fatal("attempt 1 succeeded though the answer to the change was lost")
	}
	_, pending, _ := devs.Passwords("")
	if pending == "" || !devs.works(t, pending) {
		t.Fatal("after the lost answer the device's new password is not pending")
	}
	changes.lose.Store(false)
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 2), func(string) {}); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	checkRotated(t, devs, camsimtest.Password)
	if current, _, _ := devs.Passwords(""); current != pending {
		t.Fatal("attempt 2 rotated again instead of keeping the password the device took")
	}
}

// A device that cannot be reached while a rotation is pending fails the task and
// changes neither password: the next attempt decides which one the device takes.
func TestRotateAccountUnreachableWithPendingChangesNothing(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	devs := &fakeDevices{cam: cam, current: camsimtest.Password, pending: NewPassword()} // the change never reached the device
	r := &runners{cfg: Config{Devices: devs, RebootWait: time.Second}}
	ctx := context.Background()
	cam.SetFaults(camsim.Faults{DropRate: 1})
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 1), func(string) {}); err == nil {
		t.Fatal("attempt 1 succeeded though the device did not answer")
	}
	if current, pending, _ := devs.Passwords(""); current != camsimtest.Password || pending != devs.pending || pending == "" {
		t.Fatal("a rotation that could not reach the device changed the agent's passwords")
	}
	cam.SetFaults(camsim.Faults{})
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 2), func(string) {}); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	checkRotated(t, devs, camsimtest.Password)
}

// A device that answers the password change OK but keeps the old password: the agent
// keeps the old one current (and the new one pending), and the next attempt settles it.
func TestRotateAccountChangeAnsweredButNotAppliedKeepsAccess(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	changes := &accountChanges{}
	changes.ignore.Store(true)
	devs := &fakeDevices{cam: cam, current: camsimtest.Password, transport: changes}
	r := &runners{cfg: Config{Devices: devs, RebootWait: time.Second}}
	ctx := context.Background()
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 1), func(string) {}); err == nil {
		t.Fatal("attempt 1 succeeded though the device kept the old password")
	}
	if current, pending, _ := devs.Passwords(""); current != camsimtest.Password || pending == "" {
		t.Fatalf("after the change the device did not apply: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	changes.ignore.Store(false)
	if _, err := r.rotateAccount(ctx, rotateTask(cam, 2), func(string) {}); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	checkRotated(t, devs, camsimtest.Password)
}

// olderFirmware passes requests to a simulated camera and makes it look like firmware
// whose systemready reports neither boot ID nor uptime (API 1.2, vapix.md 7), and that
// goes on answering "ready" for a few questions after a firmware management call (a
// reboot) before it goes down, as a real device does.
type olderFirmware struct {
	tr       http.Transport
	oldBoot  atomic.Int32 // answers of the old boot still to give
	answered atomic.Int32 // answers of the old boot given after a reboot
}

const olderReady = `{"apiVersion":"1.2","method":"systemready","data":{"systemready":"yes","needsetup":"no"}}`

func (o *olderFirmware) RoundTrip(req *http.Request) (*http.Response, error) {
	isReady := req.URL.Path == "/axis-cgi/systemready.cgi"
	if isReady && o.oldBoot.Add(-1) >= 0 {
		o.answered.Add(1)
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(olderReady)), Request: req}, nil
	}
	resp, err := o.tr.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	switch req.URL.Path {
	case "/axis-cgi/firmwaremanagement.cgi":
		o.oldBoot.Store(2)
	case "/axis-cgi/systemready.cgi":
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var d struct {
			Data struct {
				SystemReady string `json:"systemready"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(strings.NewReader(strings.Replace(olderReady, `"yes"`, strconv.Quote(d.Data.SystemReady), 1)))
		resp.ContentLength = -1
	}
	return resp, nil
}

// A restart of a device whose firmware reports no boot ID ends once the device booted
// anew, not on the first "ready" it gives before going down.
func TestRestartWaitsForTheNewBootWithoutBootID(t *testing.T) {
	cam := camsimtest.Start(t, 1, camsimtest.WithRebootDelay(200*time.Millisecond)).Cameras()[0]
	older := &olderFirmware{}
	t.Cleanup(older.tr.CloseIdleConnections)
	devs := &fakeDevices{cam: cam, current: camsimtest.Password, transport: older}
	r := &runners{cfg: Config{Devices: devs, RebootWait: 10 * time.Second}}
	task := taskengine.Task{ID: "t", Attempt: 1, Kind: taskkind.Restart, Serial: cam.Info().Serial}
	if _, err := r.restart(context.Background(), task, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if n := cam.Counters().Reboots; n != 1 || !cam.Up() || older.answered.Load() == 0 {
		t.Fatalf("the restart ended with %d reboots, camera up %v, after %d answers of the old boot",
			n, cam.Up(), older.answered.Load())
	}
}
