package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// vapixURL is EdgeLink's address of a device's VAPIX path at the relay.
func (ro *rollout) vapixURL(serial, path string) string {
	return ro.r.URL + ro.orgPath("/devices/"+serial+"/vapix/"+path)
}

func (ro *rollout) call(t testing.TB, token, method, url, contentType string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ro.r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestEdgeLinkThroughTheRelay calls VAPIX on cameras through the relay and the agent
// link, as a user anywhere would: device info, a parameter update, a snapshot, the event
// stream over WebSocket and a 100 MiB firmware upload that streams (memory stays flat);
// roles limit what each caller may do, and every call is in the audit log.
func TestEdgeLinkThroughTheRelay(t *testing.T) {
	ro := startRollout(t, 2)
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	cam := ro.fleet.Cameras()[0]
	serial := cam.Info().Serial

	resp, b := ro.call(t, ro.token, "POST", ro.vapixURL(serial, "axis-cgi/basicdeviceinfo.cgi"), "application/json",
		strings.NewReader(`{"apiVersion":"1.0","method":"getAllProperties"}`))
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"SerialNumber":"`+serial+`"`)) {
		t.Fatalf("device info: %d %s", resp.StatusCode, b)
	}
	// The same with curl, as a user would.
	curl := testtool.Require(t, "curl")
	out, err := exec.Command(curl, "-sS", "--fail-with-body", "--cacert", ro.r.CAFile, "-H", "Authorization: Bearer "+ro.token,
		"-d", `{"apiVersion":"1.0","method":"getAllProperties"}`, ro.vapixURL(serial, "axis-cgi/basicdeviceinfo.cgi")).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`"SerialNumber":"`+serial+`"`)) {
		t.Fatalf("curl device info: %v\n%s", err, out)
	}
	resp, b = ro.call(t, ro.token, "GET", ro.vapixURL(serial, "axis-cgi/param.cgi?action=update&Image.I0.Appearance.Resolution=1280x720"), "", nil)
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "OK" || cam.State().Params["Image.I0.Appearance.Resolution"] != "1280x720" {
		t.Fatalf("param update: %d %q", resp.StatusCode, b)
	}
	resp, b = ro.call(t, ro.token, "GET", ro.vapixURL(serial, "axis-cgi/jpg/image.cgi"), "", nil)
	if _, err := jpeg.Decode(bytes.NewReader(b)); resp.StatusCode != 200 || err != nil {
		t.Fatalf("snapshot: %d %v", resp.StatusCode, err)
	}

	// Events over WebSocket, end to end through relay, link and agent.
	wsURL := "wss" + strings.TrimPrefix(ro.vapixURL(serial, "vapix/ws-data-stream?sources=events"), "https")
	tr := ro.r.Client.Transport.(*http.Transport)
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs}, HandshakeTimeout: 10 * time.Second}
	conn, wsResp, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer " + ro.token}})
	if err != nil {
		if wsResp != nil {
			t.Fatalf("event stream: %v (HTTP %d)", err, wsResp.StatusCode)
		}
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := conn.WriteJSON(map[string]any{"apiVersion": "1.0", "context": "t", "method": "events:configure",
		"params": map[string]any{"eventFilterList": []map[string]string{{"topicFilter": camsim.TopicVMD4}}}}); err != nil {
		t.Fatal(err)
	}
	cam.TriggerMotion(true)
	for active := false; !active; {
		var msg struct {
			Params struct {
				Notification struct {
					Message struct {
						Data map[string]string `json:"data"`
					} `json:"message"`
				} `json:"notification"`
			} `json:"params"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("event stream: %v", err)
		}
		active = msg.Params.Notification.Message.Data["active"] == "1"
	}
	conn.Close()

	// A 100 MiB firmware image streams through relay and agent: neither holds it.
	const payload = 100 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="data"`)
		h.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(h)
		_, _ = w.Write([]byte(`{"apiVersion":"1.0","method":"upgrade","params":{"autoCommit":"boot"}}`))
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="fileData"; filename="fw.bin"`)
		h.Set("Content-Type", "application/octet-stream")
		w, _ = mw.CreatePart(h)
		err := camsim.WriteFirmwareImage(w, camsim.FirmwareHeader{Version: "12.40.1"}, payload)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	resp, b = ro.call(t, ro.token, "POST", ro.vapixURL(serial, "axis-cgi/firmwaremanagement.cgi"), mw.FormDataContentType(), pr)
	close(stop)
	<-sampled
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("12.40.1")) {
		t.Fatalf("firmware upload: %d %s", resp.StatusCode, b)
	}
	if grew := int64(peak.Load()) - int64(base); grew > 48<<20 {
		t.Fatalf("the heap grew by %d MiB during a 100 MiB upload: something holds the body", grew>>20)
	}
	testtool.WaitFor(t, 30*time.Second, "the camera runs the uploaded firmware", func() bool { return cam.FirmwareVersion() == "12.40.1" })

	// Roles: an operator reads and takes snapshots, but changes nothing; a viewer reaches
	// no VAPIX at all.
	opTok, viewTok := ro.member(t, "op@example.com", role.Operator), ro.member(t, "view@example.com", role.Viewer)
	if resp, _ := ro.call(t, opTok, "GET", ro.vapixURL(serial, "axis-cgi/jpg/image.cgi"), "", nil); resp.StatusCode != 200 {
		t.Errorf("operator snapshot: %d", resp.StatusCode)
	}
	if resp, _ := ro.call(t, opTok, "GET", ro.vapixURL(serial, "axis-cgi/param.cgi?action=list&group=Brand"), "", nil); resp.StatusCode != 200 {
		t.Errorf("operator param list: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		who, token, method, path string
	}{
		{"operator", opTok, "GET", "axis-cgi/param.cgi?action=update&Image.I0.Appearance.Resolution=640x360"},
		{"operator", opTok, "POST", "axis-cgi/pwdgrp.cgi"},
		{"viewer", viewTok, "GET", "axis-cgi/jpg/image.cgi"},
	} {
		if resp, b := ro.call(t, c.token, c.method, ro.vapixURL(serial, c.path), "", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s %s: %d %s", c.who, c.method, c.path, resp.StatusCode, b)
		}
	}
	// Nothing outside the inventory: another organization's or an unknown serial, a
	// path that climbs out.
	for _, bad := range []struct {
		url  string
		want int
	}{
		{ro.vapixURL("ACCC8EFFFFFF", "axis-cgi/jpg/image.cgi"), http.StatusNotFound},
		{ro.vapixURL(serial, "axis-cgi/%2e%2e/%2e%2e/etc/passwd"), http.StatusBadRequest},
		{ro.vapixURL(serial, "http:%2f%2f127.0.0.1:1/x"), http.StatusBadRequest},
	} {
		if resp, b := ro.call(t, ro.token, "GET", bad.url, "", nil); resp.StatusCode != bad.want {
			t.Errorf("GET %s: %d %s, want %d", bad.url, resp.StatusCode, b, bad.want)
		}
	}
	// Every call is in the audit log.
	var audit listOf[struct {
		Principal, Serial, Method, Path string
		Status                          int
	}]
	testtool.WaitFor(t, 5*time.Second, "the calls in the audit log", func() bool {
		audit = listOf[struct {
			Principal, Serial, Method, Path string
			Status                          int
		}]{}
		ro.r.Do(t, http.MethodGet, ro.orgPath("/audit?serial="+serial), ro.token, nil).JSON(t, &audit)
		for _, e := range audit.Items {
			if e.Path == "/axis-cgi/firmwaremanagement.cgi" && e.Method == "POST" && e.Status == 200 && e.Principal != "" {
				return true
			}
		}
		return false
	})
}

// member adds a person with a role to the organization and returns their token.
func (ro *rollout) member(t testing.TB, email string, rl role.Role) string {
	t.Helper()
	u := ro.r.CreateUser(t, email, "member-password")
	if _, err := ro.r.Store.AddMember(context.Background(), ro.id.Org, u.ID, rl); err != nil {
		t.Fatal(err)
	}
	return ro.r.Login(t, email, "member-password")
}

// TestEdgeLinkAgentGoneMidRequest stops the agent while a request to its camera is under
// way: the caller gets a clean gateway error promptly, and 503 agent-offline after.
func TestEdgeLinkAgentGoneMidRequest(t *testing.T) {
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	cam := ro.fleet.Cameras()[0]
	cam.SetFaults(camsim.Faults{Latency: 5 * time.Second})
	snapshots := func() int64 { return cam.Counters().Requests["/axis-cgi/jpg/image.cgi"] }
	before := snapshots()
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("GET", ro.vapixURL(cam.Info().Serial, "axis-cgi/jpg/image.cgi"), nil)
		req.Header.Set("Authorization", "Bearer "+ro.token)
		resp, err := ro.r.Client.Do(req)
		if err != nil {
			done <- nil
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp
	}()
	testtool.WaitFor(t, 10*time.Second, "the request at the camera", func() bool { return snapshots() > before })
	start := time.Now()
	ro.stop()
	select {
	case resp := <-done:
		if resp == nil || (resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable) {
			t.Fatalf("caller got %v, want 502 or 503", resp)
		}
		if resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("gateway error is %q, not a problem", resp.Header.Get("Content-Type"))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the caller still waits 3 s after the agent went away")
	}
	t.Logf("caller answered %s after the agent stopped", time.Since(start).Round(time.Millisecond))
	cam.SetFaults(camsim.Faults{})
	resp, b := ro.call(t, ro.token, "GET", ro.vapixURL(cam.Info().Serial, "axis-cgi/jpg/image.cgi"), "", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(b, []byte("agent-offline")) {
		t.Fatalf("with the agent gone: %d %s", resp.StatusCode, b)
	}
}

// TestEdgeLinkRefusesAmbiguousCalls tries, from the caller's side through a real relay
// and agent, the spellings that reached more than a role allows: an operator listing
// the whole parameter tree or the admins' groups under another name, and an encoded
// slash that the relay decoded into a separator before the agent's check. None reaches
// the camera.
func TestEdgeLinkRefusesAmbiguousCalls(t *testing.T) {
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	cam := ro.fleet.Cameras()[0]
	serial := cam.Info().Serial
	opTok := ro.member(t, "op@example.com", role.Operator)

	if resp, b := ro.call(t, opTok, "GET", ro.vapixURL(serial, "axis-cgi/param.cgi?action=list&group=root.Brand,Image"), "", nil); resp.StatusCode != 200 ||
		!bytes.Contains(b, []byte("root.Brand.Brand=AXIS")) {
		t.Fatalf("operator lists Brand and Image: %d %s", resp.StatusCode, b)
	}
	for _, g := range []string{"root", "Brand,root", "ROOT", "root.Network", "root.network", "Brand,,Network", "root.root.System", "Image.*"} {
		resp, b := ro.call(t, opTok, "GET", ro.vapixURL(serial, "axis-cgi/param.cgi?action=list&group="+g), "", nil)
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(b, []byte("problems/forbidden")) || bytes.Contains(b, []byte("Network.")) {
			t.Errorf("operator param.cgi?action=list&group=%s: %d %s", g, resp.StatusCode, b)
		}
	}

	pwdgrp := func() int64 { return cam.Counters().Requests["/axis-cgi/pwdgrp.cgi"] }
	before := pwdgrp()
	for _, who := range []struct{ name, token string }{{"admin", ro.token}, {"operator", opTok}} {
		for _, p := range []string{"axis-cgi%2fpwdgrp.cgi?action=get", "axis-cgi%2Fpwdgrp.cgi?action=get", "axis-cgi/%2e%2e/axis-cgi/pwdgrp.cgi?action=get"} {
			resp, b := ro.call(t, who.token, "GET", ro.vapixURL(serial, p), "", nil)
			if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("problems/vapix-path-refused")) {
				t.Errorf("%s GET vapix/%s: %d %s, want 400 vapix-path-refused", who.name, p, resp.StatusCode, b)
			}
		}
	}
	if after := pwdgrp(); after != before {
		t.Errorf("pwdgrp.cgi was called %d times through encoded paths", after-before)
	}
}
