package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// ptzViewer is a live viewer with the "ptz" data channel open.
type ptzViewer struct {
	*liveViewer
	dc      *pwebrtc.DataChannel
	open    chan struct{}
	replies chan string
}

// newPTZViewer starts a live session of serial with token, with a "ptz" data channel,
// and waits for the channel to open. The offer's request carries the headers extra too.
func newPTZViewer(t *testing.T, ro *rollout, token, serial string, extra ...string) *ptzViewer {
	t.Helper()
	pv := &ptzViewer{open: make(chan struct{}), replies: make(chan string, 64)}
	pv.liveViewer = newLiveViewer(t, func(pc *pwebrtc.PeerConnection) {
		dc, err := pc.CreateDataChannel("ptz", nil)
		if err != nil {
			t.Fatal(err)
		}
		dc.OnOpen(func() { close(pv.open) })
		dc.OnMessage(func(m pwebrtc.DataChannelMessage) {
			select {
			case pv.replies <- string(m.Data):
			default: // the test reads every reply it caused; more would be a bug it sees as a missing one
			}
		})
		pv.dc = dc
	})
	req, err := http.NewRequest("POST", ro.r.URL+ro.orgPath("/devices/"+serial+"/whep?profile="+liveProfile), strings.NewReader(pv.offer))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := ro.r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP offer: %d %s", resp.StatusCode, body)
	}
	pv.location = resp.Header.Get("Location")
	if err := pv.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatalf("answer: %v", err)
	}
	select {
	case <-pv.open:
	case <-time.After(30 * time.Second):
		t.Fatal("the ptz data channel did not open within 30 s")
	}
	return pv
}

// send sends one message and returns the agent's answer, decoded.
func (pv *ptzViewer) send(t *testing.T, msg string) (ok bool, errText string) {
	t.Helper()
	if err := pv.dc.SendText(msg); err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
	select {
	case r := <-pv.replies:
		var a struct {
			OK    *bool  `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(r), &a); err != nil || a.OK == nil || (!*a.OK && a.Error == "") {
			t.Fatalf("answer to %.60q: %q, want {\"ok\":true} or {\"ok\":false,\"error\":...}", msg, r)
		}
		return *a.OK, a.Error
	case <-time.After(20 * time.Second):
		t.Fatalf("no answer to %.60q within 20 s", msg)
		return false, ""
	}
}

// ptzPosition reads where the camera points, through EdgeLink as the admin.
func ptzPosition(t *testing.T, ro *rollout, serial string) vapix.PTZPosition {
	t.Helper()
	resp, body := ro.call(t, ro.token, "GET", ro.vapixURL(serial, "axis-cgi/com/ptz.cgi?query=position"), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ptz position: %d %s", resp.StatusCode, body)
	}
	p, err := vapix.ParsePTZPosition(string(body))
	if err != nil {
		t.Fatalf("ptz position: %v: %s", err, body)
	}
	return p
}

// ptzAdmin sends a ptz.cgi control through EdgeLink as the admin.
func ptzAdmin(t *testing.T, ro *rollout, serial, query string) {
	t.Helper()
	resp, body := ro.call(t, ro.token, "GET", ro.vapixURL(serial, "axis-cgi/com/ptz.cgi?"+query), "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("ptz.cgi?%s: %d %s", query, resp.StatusCode, body)
	}
}

// stopped reports whether the camera stands still: two readings agree.
func stopped(t *testing.T, ro *rollout, serial string) bool {
	a := ptzPosition(t, ro, serial)
	b := ptzPosition(t, ro, serial)
	return a.Pan == b.Pan && a.Tilt == b.Tilt && a.Zoom == b.Zoom
}

// TestLivePTZ steers a PTZ camera over the "ptz" data channel of a live session through
// the relay: an operator's move, stop and preset move the camera; a viewer's commands
// are refused and the camera does not move; malformed messages are answered with an
// error and the session goes on; a camera without PTZ says so; a move still going when
// the session ends is stopped.
func TestLivePTZ(t *testing.T) {
	ro := startRollout(t, 2)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), liveFlags()...))
	ro.onboardAll(t)
	var ptzCam, fixedCam *camsim.Camera
	for _, c := range ro.fleet.Cameras() {
		if c.Identity().Model.PTZ {
			ptzCam = c
		} else {
			fixedCam = c
		}
	}
	if ptzCam == nil || fixedCam == nil {
		t.Fatal("the fleet needs a PTZ camera and a fixed one")
	}
	serial, fixed := ptzCam.Info().Serial, fixedCam.Info().Serial
	setLiveProfile(t, ro, serial)
	setLiveProfile(t, ro, fixed)
	operator := ro.member(t, "operator@example.com", role.Operator)
	viewer := ro.member(t, "viewer@example.com", role.Viewer)

	// A preset to go to, and a slow speed (6°/s) so that a move is seen but never
	// reaches the pan limits during the test.
	ptzAdmin(t, ro, serial, "pan=-30&tilt=-10&setserverpresetname=Gate")
	ptzAdmin(t, ro, serial, "pan=20&tilt=5&speed=10")

	op := newPTZViewer(t, ro, operator, serial)
	before := ptzPosition(t, ro, serial)
	if ok, e := op.send(t, `{"op":"move","pan":1,"tilt":0.5}`); !ok {
		t.Fatalf("operator's move: %s", e)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera panning right and tilting up", func() bool {
		p := ptzPosition(t, ro, serial)
		return p.Pan > before.Pan+0.5 && p.Tilt > before.Tilt+0.2
	})
	if ok, e := op.send(t, `{"op":"stop"}`); !ok {
		t.Fatalf("operator's stop: %s", e)
	}
	if !stopped(t, ro, serial) {
		t.Fatal("the camera still moves after stop")
	}
	if ok, e := op.send(t, `{"op":"preset","name":"Gate"}`); !ok {
		t.Fatalf("operator's preset: %s", e)
	}
	if p := ptzPosition(t, ro, serial); p.Pan != -30 || p.Tilt != -10 {
		t.Fatalf("after preset Gate the camera points at pan %v tilt %v, want -30 -10", p.Pan, p.Tilt)
	}
	if ok, e := op.send(t, `{"op":"preset","name":"Nowhere"}`); ok || !strings.Contains(e, "preset") {
		t.Errorf("unknown preset: ok %v %q, want an error about the preset", ok, e)
	}

	// Malformed messages: an error each, and the channel still serves.
	for _, m := range []string{
		`not json`, `{"op":"jump"}`, `{"op":"move","pan":2}`, `{"op":"move","pan":"left"}`,
		`{"op":"stop","pan":1}`, `{"op":"preset"}`, `{"op":"preset","name":"a\u0000b"}`,
		`{"op":"stop"}{"op":"stop"}`, `{"op":"stop","extra":1}`, `[]`, `{"op":"move","pan":1e400}`,
		`{"op":"preset","name":"` + strings.Repeat("x", 2000) + `"}`,
	} {
		if ok, e := op.send(t, m); ok {
			t.Errorf("%.60q: ok, want an error", m)
		} else if e == "" {
			t.Errorf("%.60q: an error without text", m)
		}
	}
	if p := ptzPosition(t, ro, serial); p.Pan != -30 || p.Tilt != -10 {
		t.Errorf("malformed messages moved the camera to pan %v tilt %v", p.Pan, p.Tilt)
	}
	if ok, e := op.send(t, `{"op":"stop"}`); !ok {
		t.Fatalf("stop after malformed messages: %s", e)
	}

	// A viewer may watch but not steer: every command refused, the camera still. The
	// link's role and principal headers sent by the caller count for nothing.
	vw := newPTZViewer(t, ro, viewer, serial, "X-Camcloud-Role", "admin", "X-Camcloud-Principal", "someone-else")
	for _, m := range []string{`{"op":"move","pan":1}`, `{"op":"preset","name":"Gate"}`, `{"op":"stop"}`} {
		if ok, e := vw.send(t, m); ok || !strings.Contains(e, "operator") {
			t.Errorf("viewer's %s: ok %v %q, want refused for the role", m, ok, e)
		}
	}
	if p := ptzPosition(t, ro, serial); p.Pan != -30 || p.Tilt != -10 || !stopped(t, ro, serial) {
		t.Errorf("after the viewer's commands the camera is at pan %v tilt %v or moving, want still at -30 -10", p.Pan, p.Tilt)
	}

	// A camera without PTZ: a clear error.
	fx := newPTZViewer(t, ro, operator, fixed)
	if ok, e := fx.send(t, `{"op":"move","pan":1}`); ok || !strings.Contains(e, "no PTZ") {
		t.Errorf("move on a fixed camera: ok %v %q, want an error saying it has no PTZ", ok, e)
	}

	// A move still going when the session ends is stopped by the agent.
	if ok, e := op.send(t, `{"op":"move","pan":-1}`); !ok {
		t.Fatalf("operator's second move: %s", e)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera panning left", func() bool { return ptzPosition(t, ro, serial).Pan < -30.5 })
	if resp, body := ro.call(t, operator, "DELETE", ro.r.URL+op.location, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera stopped with the session", func() bool { return stopped(t, ro, serial) })
	if p := ptzPosition(t, ro, serial); p.Pan <= -170 {
		t.Errorf("the camera reached its pan limit (%v): it was not stopped", p.Pan)
	}
}
