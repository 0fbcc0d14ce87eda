package vapix_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// These tests run the client against simulated cameras on loopback (camsim), never mocks.

func newClient(t testing.TB, cam *camsim.Camera, user, pass string) *vapix.Client {
	t.Helper()
	c, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: user, Password: pass, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConfigValidation(t *testing.T) {
	_, err := vapix.New(vapix.Config{BaseURL: "ftp://x", User: "root", Timeout: -1})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"base URL", "timeout", "password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestDeviceInfo(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	info, err := c.DeviceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.SerialNumber != cam.Info().Serial || info.ProdNbr != cam.Info().Model || info.Version == "" || info.Architecture == "" {
		t.Fatalf("device info %+v does not describe camera %+v", info, cam.Info())
	}
	anon, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP})
	if err != nil {
		t.Fatal(err)
	}
	u, err := anon.UnrestrictedDeviceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.SerialNumber != info.SerialNumber || u.Architecture != "" {
		t.Fatalf("unrestricted info %+v: want the serial and no restricted fields", u)
	}
	props, err := c.DeviceProperties(ctx, "Brand", "Version")
	if err != nil || len(props) != 2 || props["Brand"] != "AXIS" {
		t.Fatalf("DeviceProperties = %v, %v", props, err)
	}
	apis, err := c.APIs(ctx)
	if err != nil || !slices.ContainsFunc(apis, func(a vapix.API) bool { return a.ID == "fwmgr" }) {
		t.Fatalf("APIs = %v, %v", apis, err)
	}
	oak, err := c.OAK(ctx)
	if err != nil || oak != cam.Info().OAK {
		t.Fatalf("OAK = %q, %v; want %q", oak, err, cam.Info().OAK)
	}
}

func TestErrors(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	ctx := ctxT(t)
	bad := newClient(t, cam, "root", "wrong")
	if _, err := bad.DeviceInfo(ctx); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Fatalf("wrong password: %v, want ErrUnauthorized", err)
	}
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	if err := c.SetParams(ctx, map[string]string{"Brand.ProdNbr": "X"}); err == nil {
		t.Fatal("read-only parameter accepted")
	} else {
		var ve *vapix.Error
		if !errors.As(err, &ve) || !strings.Contains(ve.Message, "Brand.ProdNbr") {
			t.Fatalf("read-only parameter: %v, want *vapix.Error naming it", err)
		}
	}
	if err := c.StartApp(ctx, "nosuchapp"); err == nil {
		t.Fatal("starting a missing app succeeded")
	} else {
		var ve *vapix.Error
		if !errors.As(err, &ve) || ve.Code != vapix.AppErrNotFound {
			t.Fatalf("missing app: %v, want code 4", err)
		}
	}
	cam.PowerOff()
	if _, err := c.DeviceInfo(ctx); !errors.Is(err, vapix.ErrUnavailable) {
		t.Fatalf("powered-off camera: %v, want ErrUnavailable", err)
	}
}

func TestViewerIsRefusedAdminCalls(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	ctx := ctxT(t)
	admin := newClient(t, cam, camsimtest.User, camsimtest.Password)
	if err := admin.AddUser(ctx, "view1", "secret1", vapix.RoleViewer, "test"); err != nil {
		t.Fatal(err)
	}
	v := newClient(t, cam, "view1", "secret1")
	if _, err := v.DeviceInfo(ctx); err != nil {
		t.Fatalf("viewer device info: %v", err)
	}
	if _, err := v.FirmwareStatus(ctx); !errors.Is(err, vapix.ErrForbidden) {
		t.Fatalf("viewer firmware status: %v, want ErrForbidden (JSON API)", err)
	}
	if _, err := v.Users(ctx); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Fatalf("viewer pwdgrp: %v, want ErrUnauthorized (legacy CGI)", err)
	}
}

func TestParams(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	params, missing, err := c.Params(ctx, "root.Brand", "Network.BootProto", "Does.Not.Exist")
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0].Group != "Does.Not.Exist" {
		t.Fatalf("missing groups = %+v", missing)
	}
	names := map[string]string{}
	for _, p := range params {
		names[p.Name] = p.Value
	}
	if names["root.Brand.Brand"] != "AXIS" || names["Network.BootProto"] != "dhcp" {
		t.Fatalf("params do not echo the requested form: %v", names)
	}
	if err := c.SetParams(ctx, map[string]string{"root.Image.I0.Appearance.Resolution": "1280x720", "Time.SyncSource": "DHCP"}); err != nil {
		t.Fatal(err)
	}
	m, err := c.ParamMap(ctx, "Image.I0.Appearance.Resolution", "Time.SyncSource")
	if err != nil || m["Image.I0.Appearance.Resolution"] != "1280x720" || m["Time.SyncSource"] != "DHCP" {
		t.Fatalf("after update: %v, %v", m, err)
	}
	// All or nothing: one bad value leaves the good one unset.
	if err := c.SetParams(ctx, map[string]string{"Time.SyncSource": "NTP", "Image.I0.Appearance.Resolution": "1x1"}); err == nil {
		t.Fatal("invalid resolution accepted")
	}
	if m, _ := c.ParamMap(ctx, "Time.SyncSource"); m["Time.SyncSource"] != "DHCP" {
		t.Fatalf("a refused update changed Time.SyncSource to %q", m["Time.SyncSource"])
	}
}

// A value holding a newline does not make the listing of its group unreadable.
func TestParamValueWithNewline(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	if err := c.SetParams(ctx, map[string]string{"Image.I0.Name": "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	m, err := c.ParamMap(ctx, "Image.I0")
	if err != nil {
		t.Fatalf("listing a group holding a multi-line value: %v", err)
	}
	if m["Image.I0.Name"] != "line one\nline two" || m["Image.I0.Appearance.Resolution"] == "" {
		t.Fatalf("Image.I0 = %q", m)
	}
}

func TestFirmwareUpgradeAfterReboot(t *testing.T) {
	dir := t.TempDir()
	fleet := camsimtest.Start(t, 1, camsimtest.WithState(dir))
	cam := fleet.Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	before, err := c.FirmwareStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := c.SystemReady(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	hdr := camsim.FirmwareHeader{Version: "12.99.1", Products: []string{cam.Info().Model}}
	var img bytes.Buffer
	const payload = 4 << 20
	if err := camsim.WriteFirmwareImage(&img, hdr, payload); err != nil {
		t.Fatal(err)
	}
	total := int64(img.Len())
	var lastSent int64
	got, err := c.UpgradeFirmware(ctx, &img, total, vapix.UpgradeOptions{}, func(sent, tot int64) { lastSent = sent })
	if err != nil {
		t.Fatal(err)
	}
	if got != "12.99.1" || lastSent != total {
		t.Fatalf("upgrade answered %q after %d of %d bytes", got, lastSent, total)
	}
	// Until the reboot finished, the camera runs the old version.
	if v := cam.FirmwareVersion(); v != before.ActiveFirmwareVersion {
		t.Fatalf("version changed to %s before the reboot", v)
	}
	if _, err := c.WaitRebooted(ctx, sr); err != nil {
		t.Fatal(err)
	}
	after, err := c.FirmwareStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.ActiveFirmwareVersion != "12.99.1" || after.InactiveFirmwareVersion != before.ActiveFirmwareVersion || !after.Committed {
		t.Fatalf("after reboot: %+v", after)
	}
	if n := cam.Counters().FirmwareUploads; n != 1 {
		t.Fatalf("camera received %d uploads, want 1", n)
	}
	// The new version survives a restart of camsim.
	fleet.Close()
	again := camsimtest.Start(t, 1, camsimtest.WithState(dir))
	if v := again.Cameras()[0].FirmwareVersion(); v != "12.99.1" {
		t.Fatalf("after camsim restart the camera runs %s", v)
	}
}

func TestFirmwareRefusals(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name  string
		image []byte
		code  int
	}{
		{"garbage", []byte("not an image"), 415},
		{"other product", camsim.FirmwareImage(camsim.FirmwareHeader{Version: "12.99.1", Products: []string{"M1065-LW"}}), 421},
		{"major downgrade", camsim.FirmwareImage(camsim.FirmwareHeader{Version: "9.80.1"}), 409},
	} {
		_, err := c.UpgradeFirmware(ctx, bytes.NewReader(tc.image), int64(len(tc.image)), vapix.UpgradeOptions{}, nil)
		var ve *vapix.Error
		if !errors.As(err, &ve) || ve.Code != tc.code {
			t.Errorf("%s: %v, want fwmgr error %d", tc.name, err, tc.code)
		}
	}
	if v := cam.FirmwareVersion(); v != cam.Identity().Model.Firmware {
		t.Fatalf("a refused image changed the version to %s", v)
	}
}

func TestAppsLifecycle(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	var pkg bytes.Buffer
	if err := camsim.BuildEAP(&pkg, camsim.EAPManifest{AppName: "hello", FriendlyName: "Hello World", Vendor: "Example AB", Version: "1.2.3", RunMode: "never"}, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallApp(ctx, "Hello_World_1_2_3_all.eap", &pkg); err != nil {
		t.Fatal(err)
	}
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Name != "hello" || apps[0].Version != "1.2.3" || apps[0].Status != "Stopped" {
		t.Fatalf("after install: %+v, %v", apps, err)
	}
	if err := c.StartApp(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartApp(ctx, "hello"); err != nil {
		t.Fatalf("starting a running app must not fail: %v", err)
	}
	if apps, _ := c.Apps(ctx); apps[0].Status != "Running" {
		t.Fatalf("status after start: %s", apps[0].Status)
	}
	if err := c.StopApp(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveApp(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if apps, _ := c.Apps(ctx); len(apps) != 0 {
		t.Fatalf("after remove: %+v", apps)
	}
	wrongArch := &bytes.Buffer{}
	arch := "armv7hf"
	if cam.Identity().Model.Architecture == "armv7hf" {
		arch = "aarch64"
	}
	_ = camsim.BuildEAP(wrongArch, camsim.EAPManifest{AppName: "other", Vendor: "X", Version: "1.0.0", Architecture: arch}, 0)
	var ve *vapix.Error
	if err := c.InstallApp(ctx, "other.eap", wrongArch); !errors.As(err, &ve) || ve.Code != 5 {
		t.Fatalf("package for another architecture: %v, want error 5", err)
	}
	if err := c.InstallApp(ctx, "junk.eap", strings.NewReader("junk")); !errors.As(err, &ve) || ve.Code != 1 {
		t.Fatalf("junk package: %v, want error 1", err)
	}
}

func TestOverlays(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	id, err := c.AddTextOverlay(ctx, vapix.TextOverlay{Text: "Gate 3 %F %T", Position: "topLeft"})
	if err != nil || id < 1 {
		t.Fatalf("add: %d, %v", id, err)
	}
	if err := c.SetTextOverlay(ctx, vapix.TextOverlay{Identity: id, Text: "Gate 4"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.TextOverlays(ctx, 1)
	if err != nil || len(list) != 1 || list[0].Text != "Gate 4" || list[0].Identity != id {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := c.RemoveOverlay(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveOverlay(ctx, id); err == nil {
		t.Fatal("removing a removed overlay succeeded")
	}
	id2, _ := c.AddTextOverlay(ctx, vapix.TextOverlay{Text: "again"})
	if id2 == id {
		t.Fatal("an overlay identity was reused")
	}
}

func TestUsers(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	if err := c.AddUser(ctx, "camcloud", "s3cret-pass", vapix.RoleAdmin, "agent"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddUser(ctx, "camcloud", "x", vapix.RoleViewer, ""); err == nil {
		t.Fatal("adding an existing account succeeded")
	}
	groups, err := c.Users(ctx)
	if err != nil || !slices.Contains(groups["admin"], "camcloud") || !slices.Contains(groups["digusers"], "camcloud") {
		t.Fatalf("users: %v, %v", groups, err)
	}
	agent := newClient(t, cam, "camcloud", "s3cret-pass")
	name, g, err := agent.WhoAmI(ctx)
	if err != nil || name != "camcloud" || !slices.Contains(g, "admin") {
		t.Fatalf("whoami: %q %v %v", name, g, err)
	}
	if err := c.UpdateUser(ctx, "camcloud", "", vapix.RoleOperator+vapix.WithPTZ); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveUser(ctx, "camcloud"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveUser(ctx, "root"); err == nil {
		t.Fatal("root was removed")
	}
}

func TestPTZ(t *testing.T) {
	fleet := camsimtest.Start(t, 2)
	ptzCam, fixed := fleet.Cameras()[1], fleet.Cameras()[0] // the second model of the catalog has PTZ
	if !ptzCam.Identity().Model.PTZ || fixed.Identity().Model.PTZ {
		t.Fatal("camsim catalog changed: pick a PTZ camera")
	}
	ctx := ctxT(t)
	c := newClient(t, ptzCam, camsimtest.User, camsimtest.Password)
	if err := c.PTZ(ctx, vapix.PTZCommand{Pan: vapix.Float(45), Tilt: vapix.Float(-500), Zoom: vapix.Float(100)}); err != nil {
		t.Fatal(err)
	}
	limits, err := c.PTZLimits(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.PTZPosition(ctx, 1)
	if err != nil || p.Pan != 45 || p.Tilt != limits["MinTilt"] || p.Zoom != 100 {
		t.Fatalf("position %+v (%v): want pan 45, tilt clamped to %v, zoom 100", p, err, limits["MinTilt"])
	}
	if err := c.PTZ(ctx, vapix.PTZCommand{RPan: vapix.Float(-10), SetPresetName: "Door"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PTZ(ctx, vapix.PTZCommand{Move: "home"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PTZ(ctx, vapix.PTZCommand{GotoPresetName: "Door"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.PTZPosition(ctx, 1); p.Pan != 35 {
		t.Fatalf("after goto preset: pan %v, want 35", p.Pan)
	}
	presets, err := c.PTZPresets(ctx, 1)
	if err != nil || !slices.Contains(mapsValues(presets), "Door") {
		t.Fatalf("presets %v, %v", presets, err)
	}
	if err := c.PTZ(ctx, vapix.PTZCommand{Move: "sideways"}); err == nil {
		t.Fatal("invalid move accepted")
	}
	f := newClient(t, fixed, camsimtest.User, camsimtest.Password)
	if _, err := f.PTZPosition(ctx, 1); !errors.Is(err, vapix.ErrNotFound) {
		t.Fatalf("camera without PTZ: %v, want ErrNotFound", err)
	}
}

func mapsValues(m map[int]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestSnapshot(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	b, err := c.Snapshot(ctx, vapix.SnapshotOptions{Resolution: "640x360"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 640 || r.Dy() != 360 {
		t.Fatalf("snapshot is %v, want 640x360", r)
	}
	if _, err := c.Snapshot(ctx, vapix.SnapshotOptions{Resolution: "17x3"}); err == nil {
		t.Fatal("unsupported resolution accepted")
	}
}

func TestEvents(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	ctx := ctxT(t)
	stream, err := c.Events(ctx, "tnsaxis:CameraApplicationPlatform/VMD//.")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// Right after configure the camera reports the state of each property the filter
	// selects: both VMD topics, no motion.
	initial := map[string]string{}
	for range 2 {
		ev, err := stream.Next()
		if err != nil {
			t.Fatal(err)
		}
		initial[ev.Topic] = ev.Data["active"]
	}
	if want := map[string]string{camsim.TopicVMD4: "0", camsim.TopicVMD4Any: "0"}; !maps.Equal(initial, want) {
		t.Fatalf("initial states %v, want %v", initial, want)
	}
	cam.TriggerMotion(true)
	ev, err := stream.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Topic != camsim.TopicVMD4 || ev.Data["active"] != "1" || ev.Timestamp == 0 {
		t.Fatalf("event %+v, want VMD motion active", ev)
	}
	// The filter selected VMD only; the ONVIF motion topic must not arrive. End motion
	// and read the next event: it must be the VMD one again.
	cam.TriggerMotion(false)
	ev, err = stream.Next()
	if err != nil || ev.Topic != camsim.TopicVMD4 || ev.Data["active"] != "0" {
		t.Fatalf("second event %+v, %v", ev, err)
	}
	stream.Close()
	if _, err := stream.Next(); err == nil {
		t.Fatal("Next after Close returned an event")
	}
}

func TestEventStreamEndsOnReboot(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	c := newClient(t, cam, camsimtest.User, camsimtest.Password)
	stream, err := c.Events(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	cam.Reboot()
	done := make(chan error, 1)
	go func() {
		// The power-on states sent after configure may come first; the stream ends after them.
		for range 100 {
			if _, err := stream.Next(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("stream went on through a reboot")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end when the camera rebooted")
	}
}

// The system log shows each login session once, with the account's privilege: this is
// how a manager learns that someone used the camera's local admin account.
func TestSystemLogRecordsLoginSessions(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	ctx := ctxT(t)
	root := newClient(t, cam, camsimtest.User, camsimtest.Password)
	if err := root.AddUser(ctx, "agent", "agent-pass", vapix.RoleAdmin, ""); err != nil {
		t.Fatal(err)
	}
	agent := newClient(t, cam, "agent", "agent-pass")
	for range 3 { // one session: the client keeps its nonce
		if _, err := agent.DeviceInfo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := agent.SystemLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logins := map[string]int{}
	booted := false
	for _, e := range entries {
		if e.Time.IsZero() || e.Host != "axis-"+strings.ToLower(cam.Info().Serial) {
			t.Fatalf("unparsed log line %q", e.Raw)
		}
		if l, ok := e.Login(); ok {
			logins[l.User+"/"+l.Privilege]++
		}
		booted = booted || strings.Contains(e.Message, "Startup finished")
	}
	if logins["root/admin"] != 1 || logins["agent/admin"] != 1 || !booted {
		t.Fatalf("logins %v, boot line %v in %d entries", logins, booted, len(entries))
	}
	viewer := newClient(t, cam, "viewer1", "x")
	if _, err := viewer.SystemLog(ctx); err == nil {
		t.Fatal("the system log was readable without an admin account")
	}
}
