package camsim_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func hostOf(info camsim.Info) string { return strings.TrimPrefix(info.HTTP, "http://") }

func TestFleetDistinctCameras(t *testing.T) {
	fleet := camsimtest.Start(t, 12)
	serials, addrs := map[string]bool{}, map[string]bool{}
	models := map[string]bool{}
	for _, c := range fleet.Cameras() {
		info := c.Info()
		if serials[info.Serial] || addrs[info.HTTP] {
			t.Fatalf("camera %+v shares its serial or address", info)
		}
		serials[info.Serial], addrs[info.HTTP], models[info.Model] = true, true, true
		if strings.ReplaceAll(info.MAC, ":", "") != info.Serial {
			t.Fatalf("MAC %s is not the serial %s", info.MAC, info.Serial)
		}
	}
	if len(models) < 3 {
		t.Fatalf("a fleet of 12 has only %d models", len(models))
	}
}

func TestUnknownPathIsNotFound(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	for _, path := range []string{"/axis-cgi/nosuch.cgi", "/", "/axis-cgi/", "/vapix/other"} {
		resp, err := http.Get(cam.Info().HTTP + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if resp.Header.Get("Server") == "" || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
			t.Errorf("GET %s: missing the Apache and security headers a camera sends", path)
		}
	}
}

func TestRebootRefusesConnectionsThenReturns(t *testing.T) {
	cam := camsimtest.Start(t, 1, camsimtest.WithRebootDelay(400*time.Millisecond)).Cameras()[0]
	addr := hostOf(cam.Info())
	cam.Reboot()
	testtool.WaitFor(t, 5*time.Second, "camera refuses connections while rebooting", func() bool { return refused(addr) })
	if cam.Up() {
		t.Fatal("camera reports up while rebooting")
	}
	testtool.WaitFor(t, 5*time.Second, "camera answers again after the reboot", func() bool { return !refused(addr) && cam.Up() })
	if got := cam.Info().HTTP; got != "http://"+addr {
		t.Fatalf("camera came back on %s, want the same address %s", got, addr)
	}
	if n := cam.Counters().Reboots; n != 1 {
		t.Fatalf("reboots counted: %d, want 1", n)
	}
}

func TestPowerOffAndOn(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	addr := hostOf(cam.Info())
	cam.PowerOff()
	if !refused(addr) {
		t.Fatal("powered-off camera still accepts connections")
	}
	if err := cam.PowerOn(); err != nil {
		t.Fatal(err)
	}
	if refused(addr) {
		t.Fatal("camera does not answer after power-on")
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	url := cam.Info().HTTP + "/axis-cgi/systemready.cgi"

	cam.SetFaults(camsim.Faults{ErrorRate: 1})
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"apiVersion":"1.0","method":"systemready"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("errors=1: status %d, want 500", resp.StatusCode)
	}

	cam.SetFaults(camsim.Faults{DropRate: 1})
	if resp, err := http.Post(url, "application/json", strings.NewReader(`{}`)); err == nil {
		resp.Body.Close()
		t.Fatalf("drop=1: got an answer (%d), want the connection closed", resp.StatusCode)
	}

	cam.SetFaults(camsim.Faults{Latency: 150 * time.Millisecond})
	start := time.Now()
	resp, err = http.Get(cam.Info().HTTP + "/nosuch")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency=150ms answered after %s", d)
	}
	cam.SetFaults(camsim.Faults{})
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := camsim.Config{Count: 2, Listen: "127.0.0.1:0", RTSPListen: "127.0.0.1:0", StateDir: dir}
	first, err := camsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	serial := first.Cameras()[1].Info().Serial
	boots := first.Cameras()[1].State().Boots
	first.Close()
	if _, err := os.Stat(filepath.Join(dir, serial+".json")); err != nil {
		t.Fatalf("no state file for %s: %v", serial, err)
	}

	second, err := camsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	cam, ok := second.Camera(serial)
	if !ok {
		t.Fatalf("restarted fleet lacks camera %s", serial)
	}
	if got := cam.State().Boots; got != boots+1 {
		t.Fatalf("boot count %d after restart, want %d (state not carried over)", got, boots+1)
	}
}

func TestCorruptStateIsReported(t *testing.T) {
	dir := t.TempDir()
	serial := camsim.NewIdentity(0, 0).Serial
	if err := os.WriteFile(filepath.Join(dir, serial+".json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := camsim.New(camsim.Config{Count: 1, StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), serial) {
		t.Fatalf("corrupt state file: error %v, want one naming the camera", err)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
