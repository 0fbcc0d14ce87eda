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

	"github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// fakeDevices keeps the agent's passwords for one simulated camera, as the agent's
// store does; transport, when set, carries the clients' requests.
type fakeDevices struct {
	mu               sync.Mutex
	cam              *camsim.Camera
	current, pending string
	transport        http.RoundTripper
}

func (d *fakeDevices) Client(context.Context, string) (*vapix.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.account().Open(d.current)
}

// Account is the agent's account on the camera, its passwords kept in d.
func (d *fakeDevices) Account(context.Context, string) (account.Account, error) {
	return d.account(), nil
}

func (d *fakeDevices) account() account.Account {
	dev := devstore.Device{Serial: d.cam.Info().Serial, User: camsimtest.User}
	return account.On(dev, strings.TrimPrefix(d.cam.Info().HTTP, "http://"), d, vapix.Config{Transport: d.transport, Timeout: 5 * time.Second})
}

func (d *fakeDevices) SetPassword(_ string, p string, pending bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pending {
		d.pending = p
	} else {
		d.current, d.pending = p, ""
	}
	return nil
}

func (d *fakeDevices) Passwords(string) (string, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current, d.pending, nil
}

// The rotation task leaves the agent holding a new password that the device takes, and
// the old one refused (the protocol's failure cases are package account's tests).
func TestRotateAccount(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	devs := &fakeDevices{cam: cam, current: camsimtest.Password}
	r := &runners{cfg: Config{Devices: devs, RebootWait: time.Second}}
	task := taskengine.Task{ID: "t", Attempt: 1, Kind: taskkind.RotateAccount, Serial: cam.Info().Serial}
	if _, err := r.rotateAccount(t.Context(), task, func(string) {}); err != nil {
		t.Fatal(err)
	}
	current, pending, _ := devs.Passwords("")
	if current == camsimtest.Password || pending != "" {
		t.Fatalf("after the rotation: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	works := func(password string) bool {
		c, err := devs.account().Open(password)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		_, _, err = c.WhoAmI(t.Context())
		if err != nil && !errors.Is(err, vapix.ErrUnauthorized) {
			t.Fatalf("who am I: %v", err)
		}
		return err == nil
	}
	if !works(current) || works(camsimtest.Password) {
		t.Fatal("the device does not take the agent's new password, or still takes the old one")
	}
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
