package camsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// TestCurlEveryEndpoint drives every VAPIX endpoint with curl --digest, as a user checking
// the simulator by hand would, and checks the body shapes of vapix.md.
func TestCurlEveryEndpoint(t *testing.T) {
	curl := testtool.Require(t, "curl")
	fleet := camsimtest.Start(t, 2)
	cam, ptzCam := fleet.Cameras()[0], fleet.Cameras()[1]
	dir := t.TempDir()
	eap := filepath.Join(dir, "hello.eap")
	var pkg bytes.Buffer
	if err := camsim.BuildEAP(&pkg, camsim.EAPManifest{AppName: "hello", FriendlyName: "Hello", Vendor: "Example", Version: "1.0.0"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(eap, pkg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fw := filepath.Join(dir, "fw.bin")
	if err := os.WriteFile(fw, camsim.FirmwareImage(camsim.FirmwareHeader{Version: "12.20.1"}), 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, string) {
		t.Helper()
		full := append([]string{"-s", "-S", "--max-time", "10", "-w", "\n%{http_code} %{content_type}"}, args...)
		out, err := exec.Command(curl, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		s := string(out)
		i := strings.LastIndex(s, "\n")
		return s[:i], s[i+1:]
	}
	auth := []string{"--digest", "-u", camsimtest.User + ":" + camsimtest.Password}
	jsonPost := func(base, cgi, body string) map[string]any {
		t.Helper()
		out, status := run(append(auth, "-H", "Content-Type: application/json", "-d", body, base+"/axis-cgi/"+cgi)...)
		if !strings.HasPrefix(status, "200 application/json") {
			t.Fatalf("%s %s: %s\n%s", cgi, body, status, out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s: not JSON: %s", cgi, out)
		}
		if m["error"] != nil {
			t.Fatalf("%s %s: error %v", cgi, body, m["error"])
		}
		return m
	}
	data := func(m map[string]any) map[string]any { d, _ := m["data"].(map[string]any); return d }
	base := cam.Info().HTTP

	// Without credentials: 401 with a Digest challenge.
	out, err := exec.Command(curl, "-s", "-i", base+"/axis-cgi/param.cgi?action=list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "401 Unauthorized") ||
		!regexp.MustCompile(`(?i)WWW-Authenticate: Digest realm="AXIS_`+cam.Info().Serial+`", nonce="[^"]+", algorithm=MD5, qop="auth"`).Match(out) {
		t.Fatalf("unauthenticated request:\n%s", out)
	}

	if d := data(jsonPost(base, "basicdeviceinfo.cgi", `{"apiVersion":"1.0","method":"getAllProperties"}`)); d["propertyList"].(map[string]any)["SerialNumber"] != cam.Info().Serial {
		t.Errorf("getAllProperties: %v", d)
	}
	if d := data(jsonPost(base, "apidiscovery.cgi", `{"apiVersion":"1.0","method":"getApiList"}`)); len(d["apiList"].([]any)) < 10 {
		t.Errorf("getApiList: %v", d)
	}
	if d := data(jsonPost(base, "firmwaremanagement.cgi", `{"apiVersion":"1.0","method":"status"}`)); d["activeFirmwareVersion"] == "" {
		t.Errorf("fwmgr status: %v", d)
	}
	if d := data(jsonPost(base, "systemready.cgi", `{"apiVersion":"1.0","method":"systemready"}`)); d["systemready"] != "yes" {
		t.Errorf("systemready: %v", d)
	}
	if d := data(jsonPost(base, "oak.cgi", `{"apiVersion":"1.0","method":"getOAK"}`)); d["oak"] != cam.Info().OAK {
		t.Errorf("getOAK: %v", d)
	}
	if d := data(jsonPost(base, "dynamicoverlay/dynamicoverlay.cgi", `{"apiVersion":"1.0","method":"addText","params":{"camera":1,"text":"Gate %F"}}`)); d["identity"] == nil {
		t.Errorf("addText: %v", d)
	}

	text := func(want, path string, extra ...string) string {
		t.Helper()
		out, status := run(append(append(auth, extra...), base+path)...)
		if !strings.HasPrefix(status, want) {
			t.Fatalf("%s: %s\n%s", path, status, out)
		}
		return out
	}
	if out := text("200 text/plain", "/axis-cgi/param.cgi?action=list&group=Brand"); !strings.HasPrefix(out, "Brand.Brand=AXIS\n") {
		t.Errorf("param list: %q", out)
	}
	if out := text("200 text/plain", "/axis-cgi/param.cgi", "-d", "action=update&Image.I0.Name=Door"); out != "OK\n" {
		t.Errorf("param update: %q", out)
	}
	if out := text("200 text/plain", "/axis-cgi/pwdgrp.cgi?action=get"); !strings.Contains(out, `digusers="root"`) {
		t.Errorf("pwdgrp get: %q", out)
	}
	if out := text("200 text/plain", "/axis-cgi/usergroup.cgi"); out != "root\nadmin operator viewer ptz\n" {
		t.Errorf("usergroup: %q", out)
	}
	if out := text("200 text/plain", "/axis-cgi/applications/upload.cgi", "-F", "packfil=@"+eap); out != "OK\n" {
		t.Errorf("upload.cgi: %q", out)
	}
	if out := text("200 text/xml", "/axis-cgi/applications/list.cgi"); !strings.Contains(out, `<application Name="hello"`) {
		t.Errorf("list.cgi: %q", out)
	}
	if out := text("200 text/plain", "/axis-cgi/applications/control.cgi?action=stop&package=hello"); out != "OK\n" {
		t.Errorf("control.cgi: %q", out)
	}
	jpg := text("200 image/jpeg", "/axis-cgi/jpg/image.cgi?resolution=640x360")
	if _, err := jpeg.Decode(strings.NewReader(jpg)); err != nil {
		t.Errorf("image.cgi: not a JPEG: %v", err)
	}
	if out := text("200 text/plain", "/axis-cgi/wssession.cgi"); len(strings.TrimSpace(out)) < 16 {
		t.Errorf("wssession: %q", out)
	}

	pbase := ptzCam.Info().HTTP
	out2, status2 := run(append(auth, pbase+"/axis-cgi/com/ptz.cgi?pan=20&tilt=-10")...)
	if !strings.HasPrefix(status2, "204") {
		t.Errorf("ptz move: %s %q", status2, out2)
	}
	out2, _ = run(append(auth, pbase+"/axis-cgi/com/ptz.cgi?query=position")...)
	if !strings.HasPrefix(out2, "pan=20\ntilt=-10\nzoom=1\n") {
		t.Errorf("ptz position: %q", out2)
	}

	// Firmware upgrade as curl users do it: a JSON part, then the image.
	req := `{"apiVersion":"1.0","method":"upgrade"}`
	out3, status := run(append(auth, "-F", fmt.Sprintf("data=%s;type=application/json", req), "-F", "fileData=@"+fw+";type=application/octet-stream", base+"/axis-cgi/firmwaremanagement.cgi")...)
	if !strings.HasPrefix(status, "200") || !strings.Contains(out3, `"firmwareVersion":"12.20.1"`) {
		t.Errorf("fwmgr upgrade: %s %s", status, out3)
	}
	if cam.Counters().FirmwareUploads != 1 {
		t.Errorf("upload not counted: %+v", cam.Counters())
	}
}
