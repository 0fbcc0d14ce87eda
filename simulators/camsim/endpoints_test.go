package camsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func digestClient(user, pass string) *http.Client {
	return &http.Client{Transport: &digest.Transport{Username: user, Password: pass}}
}

func postJSON(t *testing.T, hc *http.Client, url, body string) map[string]any {
	t.Helper()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(readAll(t, resp)), &m); err != nil {
		t.Fatalf("%s: not JSON: %v", url, err)
	}
	return m
}

func errCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func TestBasicDeviceInfoErrors(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	url := cam.Info().HTTP + "/axis-cgi/basicdeviceinfo.cgi"
	hc := digestClient(camsimtest.User, camsimtest.Password)
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"unknown method", `{"apiVersion":"1.0","method":"nope"}`, 2004},
		{"other major version", `{"apiVersion":"2.0","method":"getAllProperties"}`, 2003},
		{"invalid JSON", `{"apiVersion":`, 4000},
		{"missing propertyList", `{"apiVersion":"1.0","method":"getProperties","params":{}}`, 4002},
		{"unknown property", `{"apiVersion":"1.0","method":"getProperties","params":{"propertyList":["Nope"]}}`, 1000},
	} {
		if got := errCode(postJSON(t, hc, url, tc.body)); got != tc.code {
			t.Errorf("%s: error %d, want %d", tc.name, got, tc.code)
		}
	}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(readAll(t, resp)), &m)
	if errCode(m) != 2002 {
		t.Errorf("GET: %v, want error 2002", m)
	}
	// Anonymous: the unrestricted subset, and the reply has no "method" (as recorded).
	m = postJSON(t, http.DefaultClient, url, `{"apiVersion":"1.0","context":"c7","method":"getAllUnrestrictedProperties"}`)
	if _, has := m["method"]; has || m["context"] != "c7" || m["apiVersion"] != "1.3" {
		t.Errorf("envelope %v: want apiVersion 1.3, context echoed, no method", m)
	}
	resp, err = http.Post(url, "application/json", strings.NewReader(`{"apiVersion":"1.0","method":"getAllProperties"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous getAllProperties: %d, want 401", resp.StatusCode)
	}
}

func TestAPIListFollowsModel(t *testing.T) {
	fleet := camsimtest.Start(t, 2)
	hc := digestClient(camsimtest.User, camsimtest.Password)
	for _, cam := range fleet.Cameras() {
		m := postJSON(t, hc, cam.Info().HTTP+"/axis-cgi/apidiscovery.cgi", `{"apiVersion":"1.0","method":"getApiList"}`)
		has := strings.Contains(mustJSON(m), `"ptz-control"`)
		if has != cam.Identity().Model.PTZ {
			t.Errorf("%s (PTZ %v) lists ptz-control: %v", cam.Info().Model, cam.Identity().Model.PTZ, has)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestParamPrivileges(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	ctx := context.Background()
	admin, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err := admin.AddUser(ctx, "viewer1", "pw1", vapix.RoleViewer, ""); err != nil {
		t.Fatal(err)
	}
	if err := admin.AddUser(ctx, "oper1", "pw2", vapix.RoleOperator, ""); err != nil {
		t.Fatal(err)
	}
	viewer, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: "viewer1", Password: "pw1"})
	oper, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: "oper1", Password: "pw2"})
	if _, err := viewer.ParamMap(ctx, "Brand"); err != nil {
		t.Errorf("viewer lists Brand: %v", err)
	}
	if _, err := viewer.ParamMap(ctx, "Network"); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("viewer lists Network: %v, want 401", err)
	}
	if err := viewer.SetParams(ctx, map[string]string{"Image.I0.Name": "x"}); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("viewer updates Image: %v, want 401", err)
	}
	if err := oper.SetParams(ctx, map[string]string{"Image.I0.Name": "x"}); err != nil {
		t.Errorf("operator updates Image: %v", err)
	}
	if err := oper.SetParams(ctx, map[string]string{"Network.BootProto": "none"}); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("operator updates Network: %v, want 401", err)
	}
	m, err := admin.ParamMap(ctx, "SMTP.Password", "Properties.Firmware.Version")
	if err != nil || m["SMTP.Password"] != "******" || m["Properties.Firmware.Version"] != cam.FirmwareVersion() {
		t.Errorf("secrets and firmware: %v, %v", m, err)
	}
}

func TestStreamProfileAddRemove(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	get := func(q string) string {
		resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/param.cgi?" + q)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	if out := get("action=add&template=streamprofile&group=StreamProfile&StreamProfile.S.Name=low&StreamProfile.S.Parameters=resolution%3D640x360"); out != "S1 OK\n" {
		t.Fatalf("add: %q", out)
	}
	if out := get("action=list&group=StreamProfile.S1.Name"); out != "StreamProfile.S1.Name=low\n" {
		t.Fatalf("list added: %q", out)
	}
	if out := get("action=remove&group=root.StreamProfile.S1"); out != "OK\n" {
		t.Fatalf("remove: %q", out)
	}
	// The profile a camera has out of the box is a profile like any other; the device's
	// own groups and groups it does not have cannot be removed.
	if out := get("action=remove&group=StreamProfile.S0"); out != "OK\n" {
		t.Fatalf("remove the default profile: %q", out)
	}
	for _, g := range []string{"Brand", "StreamProfile.S0", "StreamProfile.S7", "Image.I0"} {
		if out := get("action=remove&group=" + g); !strings.HasPrefix(out, "# Error:") {
			t.Fatalf("removing %s: %q", g, out)
		}
	}
}

func TestUpgradeFaultsAndBusy(t *testing.T) {
	cam := camsimtest.Start(t, 1, camsimtest.WithRebootDelay(time.Second)).Cameras()[0]
	ctx := context.Background()
	c, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	img := camsim.FirmwareImage(camsim.FirmwareHeader{Version: "12.30.1"})
	var ve *vapix.Error

	cam.SetFaults(camsim.Faults{UpgradeFailRate: 1})
	if _, err := c.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{}, nil); !errors.As(err, &ve) || ve.Code != 500 {
		t.Fatalf("upgrade-fail=1: %v, want error 500", err)
	}
	if cam.FirmwareVersion() == "12.30.1" || !cam.Up() {
		t.Fatal("a failed upgrade changed the firmware or rebooted")
	}
	cam.SetFaults(camsim.Faults{})
	sr, _ := c.SystemReady(ctx, 0)
	if _, err := c.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{AutoRollback: "1"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitReady(ctx, sr.BootID); err != nil {
		t.Fatal(err)
	}
	st, err := c.FirmwareStatus(ctx)
	if err != nil || st.Committed || st.PendingCommit != "started" {
		t.Fatalf("upgrade with autoRollback: %+v, %v; want uncommitted", st, err)
	}
	// A new upgrade before commit is refused (412).
	if _, err := c.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{}, nil); !errors.As(err, &ve) || ve.Code != 412 {
		t.Fatalf("upgrade while uncommitted: %v, want 412", err)
	}
	if err := c.CommitFirmware(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.FirmwareStatus(ctx); !st.Committed {
		t.Fatalf("after commit: %+v", st)
	}
}

func TestUncommittedUpgradeRollsBack(t *testing.T) {
	cam := camsimtest.Start(t, 1, camsimtest.WithRollbackMinute(300*time.Millisecond)).Cameras()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	old := cam.FirmwareVersion()
	img := camsim.FirmwareImage(camsim.FirmwareHeader{Version: "12.30.1"})
	sr, _ := c.SystemReady(ctx, 0)
	if _, err := c.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{AutoRollback: "1"}, nil); err != nil {
		t.Fatal(err)
	}
	sr, err := c.WaitReady(ctx, sr.BootID)
	if err != nil || cam.FirmwareVersion() != "12.30.1" {
		t.Fatalf("upgrade did not boot: %v, %s", err, cam.FirmwareVersion())
	}
	// Not committed within the (shortened) minute: the camera returns to the old image.
	if _, err := c.WaitReady(ctx, sr.BootID); err != nil {
		t.Fatal(err)
	}
	if v := cam.FirmwareVersion(); v != old {
		t.Fatalf("after the rollback timer the camera runs %s, want %s", v, old)
	}
}

func TestOverlayAndPTZPersist(t *testing.T) {
	dir := t.TempDir()
	fleet := camsimtest.Start(t, 2, camsimtest.WithState(dir))
	ctx := context.Background()
	ptzCam := fleet.Cameras()[1]
	c, _ := vapix.New(vapix.Config{BaseURL: ptzCam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if _, err := c.AddTextOverlay(ctx, vapix.TextOverlay{Text: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PTZ(ctx, vapix.PTZCommand{Pan: vapix.Float(12.5), SetPresetName: "P1"}); err != nil {
		t.Fatal(err)
	}
	fleet.Close()
	again := camsimtest.Start(t, 2, camsimtest.WithState(dir)).Cameras()[1]
	c2, _ := vapix.New(vapix.Config{BaseURL: again.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	list, err := c2.TextOverlays(ctx, 1)
	if err != nil || len(list) != 1 || list[0].Text != "kept" {
		t.Fatalf("overlays after restart: %+v, %v", list, err)
	}
	p, err := c2.PTZPosition(ctx, 1)
	if err != nil || p.Pan != 12.5 {
		t.Fatalf("PTZ after restart: %+v, %v", p, err)
	}
}

func TestContinuousPTZMoves(t *testing.T) {
	cam := camsimtest.Start(t, 2).Cameras()[1]
	ctx := context.Background()
	c, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err := c.PTZ(ctx, vapix.PTZCommand{ContinuousPanTilt: &[2]float64{100, 0}}); err != nil {
		t.Fatal(err)
	}
	// Full speed pans 60°/s: poll until the camera has moved, then stop it.
	testtool.WaitFor(t, 5*time.Second, "the continuous move to pan the camera past 5°", func() bool {
		p, err := c.PTZPosition(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return p.Pan > 5
	})
	if err := c.PTZ(ctx, vapix.PTZCommand{Move: "stop"}); err != nil {
		t.Fatal(err)
	}
	p1, _ := c.PTZPosition(ctx, 1)
	p2, _ := c.PTZPosition(ctx, 1)
	if p1.Pan != p2.Pan {
		t.Fatalf("camera still moves after stop: %v then %v", p1.Pan, p2.Pan)
	}
}

func TestWSSessionTokenIsSingleUse(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/wssession.cgi")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(readAll(t, resp))
	ws := strings.Replace(cam.Info().HTTP, "http://", "ws://", 1) + "/vapix/ws-data-stream?sources=events&wssession=" + token
	for i, want := range []int{http.StatusSwitchingProtocols, http.StatusUnauthorized} {
		status := wsStatus(t, ws)
		if status != want {
			t.Fatalf("use %d of the token: %d, want %d", i+1, status, want)
		}
	}
}

// wsStatus sends a WebSocket upgrade and returns the status line's code.
func wsStatus(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(url, "ws://", "http://", 1), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// A 101 body is the upgraded connection: close it rather than read it.
	resp.Body.Close()
	return resp.StatusCode
}

// A bare root group is the whole tree as the account may see it, listed with the root.
// prefix; root.X is group X echoed with the prefix (reference/vapix.md 5.1).
func TestParamListRootGroup(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	admin, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err := admin.AddUser(context.Background(), "oper1", "pw2", vapix.RoleOperator, ""); err != nil {
		t.Fatal(err)
	}
	list := func(user, pass, group string) string {
		resp, err := digestClient(user, pass).Get(cam.Info().HTTP + "/axis-cgi/param.cgi?action=list&group=" + group)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	if out := list(camsimtest.User, camsimtest.Password, "root"); !strings.Contains(out, "\nroot.Network.HostName=") || !strings.Contains(out, "\nroot.Brand.Brand=AXIS\n") {
		t.Errorf("admin group=root: %q", out)
	}
	if out := list(camsimtest.User, camsimtest.Password, "Brand,root.Network.HostName"); !strings.HasPrefix(out, "Brand.Brand=AXIS\n") || !strings.HasSuffix(out, "\nroot.Network.HostName=axis-"+strings.ToLower(cam.Info().Serial)+"\n") {
		t.Errorf("admin group=Brand,root.Network.HostName: %q", out)
	}
	if out := list("oper1", "pw2", "root"); !strings.Contains(out, "root.Brand.Brand=AXIS\n") || strings.Contains(out, "root.Network.") || strings.Contains(out, "root.System.") {
		t.Errorf("operator group=root lists admins' groups: %q", out)
	}
}
