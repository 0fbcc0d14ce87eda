package live

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/webrtc"
)

// fakePTZ is a camera's com/ptz.cgi: it answers query=limits (hasPTZ) and records the
// control requests, each held until gate is closed.
type fakePTZ struct {
	hasPTZ bool
	gate   chan struct{}

	mu       sync.Mutex
	controls []url.Values
}

func (f *fakePTZ) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/axis-cgi/com/ptz.cgi" || r.ParseForm() != nil {
		http.NotFound(w, r)
		return
	}
	if r.Form.Get("query") == "limits" {
		if f.hasPTZ {
			_, _ = w.Write([]byte("MinPan=-170\nMaxPan=170\n"))
		}
		return
	}
	select {
	case <-f.gate:
	case <-r.Context().Done():
		return
	}
	f.mu.Lock()
	f.controls = append(f.controls, r.Form)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakePTZ) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.controls...)
}

type oneDevice egress.Target

func (d oneDevice) Target(serial string) (egress.Target, bool) {
	return egress.Target(d), serial == "CAM"
}

// ptzPair is a ptzControl for camera f with a viewer's data channel to it, over two pion
// peer connections on loopback.
type ptzPair struct {
	ctl     *ptzControl
	dc      *pwebrtc.DataChannel
	replies chan ptzReply
}

func newPTZPair(t *testing.T, f *fakePTZ, allowed bool) *ptzPair {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	ctl := newPTZControl("CAM", allowed, oneDevice{Addr: strings.TrimPrefix(srv.URL, "http://"), User: "agent", Password: "pw"}, nil, slog.New(slog.DiscardHandler))
	t.Cleanup(ctl.close)
	api := pwebrtc.NewAPI(pwebrtc.WithSettingEngine(webrtc.LoopbackOnly()))
	viewer, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = viewer.Close(); _ = agent.Close() })
	agent.OnDataChannel(ctl.channel)
	p := &ptzPair{ctl: ctl, replies: make(chan ptzReply, 64)}
	open := make(chan struct{})
	if p.dc, err = viewer.CreateDataChannel(PTZLabel, nil); err != nil {
		t.Fatal(err)
	}
	p.dc.OnOpen(func() { close(open) })
	p.dc.OnMessage(func(m pwebrtc.DataChannelMessage) {
		var r ptzReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			r = ptzReply{Error: "not JSON: " + string(m.Data)}
		}
		p.replies <- r
	})
	signal := func(from, to *pwebrtc.PeerConnection, offer bool) {
		var d pwebrtc.SessionDescription
		if offer {
			d, err = from.CreateOffer(nil)
		} else {
			d, err = from.CreateAnswer(nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		gathered := pwebrtc.GatheringCompletePromise(from)
		if err := from.SetLocalDescription(d); err != nil {
			t.Fatal(err)
		}
		<-gathered
		if err := to.SetRemoteDescription(*from.LocalDescription()); err != nil {
			t.Fatal(err)
		}
	}
	signal(viewer, agent, true)
	signal(agent, viewer, false)
	select {
	case <-open:
	case <-time.After(20 * time.Second):
		t.Fatal("data channel not open within 20 s")
	}
	return p
}

func (p *ptzPair) reply(t *testing.T) ptzReply {
	t.Helper()
	select {
	case r := <-p.replies:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no answer within 20 s")
		return ptzReply{}
	}
}

// Commands map to ptz.cgi's continuous moves and presets, in the order sent; a move
// still going when the session ends is stopped.
func TestPTZCommandsAndStopAtTheEnd(t *testing.T) {
	f := &fakePTZ{hasPTZ: true, gate: make(chan struct{})}
	close(f.gate)
	p := newPTZPair(t, f, true)
	for _, m := range []string{`{"op":"move","pan":0.5,"tilt":-1,"zoom":0.25}`, `{"op":"preset","name":"Gate 2"}`, `{"op":"move","zoom":-1}`} {
		if err := p.dc.SendText(m); err != nil {
			t.Fatal(err)
		}
		if r := p.reply(t); !r.OK {
			t.Fatalf("%s: %s", m, r.Error)
		}
	}
	p.ctl.close()
	want := []string{"continuouspantiltmove=50,-100 continuouszoommove=25", "gotoserverpresetname=Gate 2",
		"continuouspantiltmove=0,0 continuouszoommove=-100", "continuouspantiltmove=0,0 continuouszoommove=0"}
	got := f.sent()
	if len(got) != len(want) {
		t.Fatalf("%d requests to the camera %v, want %d", len(got), got, len(want))
	}
	for i, v := range got {
		var s []string
		for _, k := range []string{"continuouspantiltmove", "continuouszoommove", "gotoserverpresetname"} {
			if x := v.Get(k); x != "" {
				s = append(s, k+"="+x)
			}
		}
		if strings.Join(s, " ") != want[i] || v.Get("camera") != "1" {
			t.Errorf("request %d: %v, want %s", i, v, want[i])
		}
	}
}

// At most MaxPTZInFlight commands wait for their answers; more are refused at once, and
// the camera gets exactly the ones taken.
func TestPTZInFlightBound(t *testing.T) {
	f := &fakePTZ{hasPTZ: true, gate: make(chan struct{})}
	p := newPTZPair(t, f, true)
	const n = 3 * MaxPTZInFlight
	for range n {
		if err := p.dc.SendText(`{"op":"move","pan":0.1}`); err != nil {
			t.Fatal(err)
		}
	}
	for range n - MaxPTZInFlight {
		if r := p.reply(t); r.OK || r.Error != errPTZBusy {
			t.Fatalf("over the bound: %+v, want %q", r, errPTZBusy)
		}
	}
	close(f.gate)
	for range MaxPTZInFlight {
		if r := p.reply(t); !r.OK {
			t.Fatalf("within the bound: %+v", r)
		}
	}
	p.ctl.close()
	if got := len(f.sent()); got != MaxPTZInFlight+1 {
		t.Errorf("%d requests to the camera, want %d moves and the stop at the end", got, MaxPTZInFlight)
	}
}

// A caller who may not steer is refused without a request to the camera; a camera
// without PTZ says so.
func TestPTZRefusals(t *testing.T) {
	f := &fakePTZ{hasPTZ: true, gate: make(chan struct{})}
	close(f.gate)
	p := newPTZPair(t, f, false)
	if err := p.dc.SendText(`{"op":"move","pan":1}`); err != nil {
		t.Fatal(err)
	}
	if r := p.reply(t); r.OK || r.Error != errPTZRole {
		t.Errorf("viewer's move: %+v", r)
	}
	p.ctl.close()
	if got := f.sent(); len(got) != 0 {
		t.Errorf("viewer's move reached the camera: %v", got)
	}

	fixed := &fakePTZ{gate: make(chan struct{})}
	close(fixed.gate)
	p = newPTZPair(t, fixed, true)
	if err := p.dc.SendText(`{"op":"stop"}`); err != nil {
		t.Fatal(err)
	}
	if r := p.reply(t); r.OK || r.Error != errPTZNone {
		t.Errorf("stop on a fixed camera: %+v", r)
	}
}
