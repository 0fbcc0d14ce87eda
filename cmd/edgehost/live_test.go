package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/agent/webrtc/webrtctest"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// liveFlags are the edge host's live video flags in these tests: ICE on loopback only,
// and a short grace so that a pull's end can be waited for.
func liveFlags(extra ...string) []string {
	return append([]string{"--webrtc-loopback-only", "--webrtc-grace", "1s"}, extra...)
}

// liveViewer is a pion peer connection that watches a camera through the relay's WHEP
// route, as a browser would; setup runs before the offer is made (data channels).
type liveViewer struct {
	pc       *pwebrtc.PeerConnection
	offer    string
	location string
	first    chan [][]byte // the first decoded access unit's NAL units
	frames   atomic.Int64
	readers  sync.WaitGroup
}

func newLiveViewer(t testing.TB, setup ...func(*pwebrtc.PeerConnection)) *liveViewer {
	t.Helper()
	pc := webrtctest.ViewerPeer(t)
	v := &liveViewer{pc: pc, first: make(chan [][]byte, 1)}
	t.Cleanup(func() { _ = pc.Close(); v.readers.Wait() })
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		v.readers.Add(1)
		go v.read(tr)
	})
	for _, f := range setup {
		f(pc)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	v.offer = pc.LocalDescription().SDP
	return v
}

// read decodes the video track until the connection closes; audio is drained.
func (v *liveViewer) read(tr *pwebrtc.TrackRemote) {
	defer v.readers.Done()
	video := tr.Kind() == pwebrtc.RTPCodecTypeVideo
	dec := &rtph264.Decoder{PacketizationMode: 1}
	_ = dec.Init()
	buf := make([]byte, 1500)
	decoding := true
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if !video {
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		if !decoding {
			if p.Marker {
				v.frames.Add(1)
			}
			continue
		}
		p.Payload = append([]byte(nil), p.Payload...)
		if nalus, err := dec.Decode(&p); err == nil {
			v.frames.Add(1)
			v.first <- nalus
			decoding = false
		}
	}
}

// whep posts the viewer's offer and, on 201, applies the answer.
func (v *liveViewer) whep(t testing.TB, ro *rollout, token, serial string) (*http.Response, []byte) {
	t.Helper()
	resp, body := ro.call(t, token, "POST", ro.r.URL+ro.orgPath("/devices/"+serial+"/whep?profile="+liveProfile), "application/sdp", strings.NewReader(v.offer))
	if resp.StatusCode == http.StatusCreated {
		v.location = resp.Header.Get("Location")
		if err := v.pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
			t.Fatalf("answer: %v\n%s", err, body)
		}
	}
	return resp, body
}

// firstFrame waits for the first decoded access unit.
func (v *liveViewer) firstFrame(t testing.TB) [][]byte {
	t.Helper()
	select {
	case au := <-v.first:
		return au
	case <-time.After(30 * time.Second):
		t.Fatal("no video frame within 30 s")
		return nil
	}
}

// isKeyframe reports whether an access unit has SPS and PPS before an IDR slice.
func isKeyframe(au [][]byte) bool {
	sps, pps := false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			sps = true
		case 8:
			pps = true
		case 5:
			return sps && pps
		}
	}
	return false
}

// liveProfile is the cameras' stream profile the viewers of these tests ask for: the
// model's smallest resolution at 15 fps, so that 20 viewers in one test process stay cheap.
const liveProfile = "profile_1"

// setLiveProfile makes liveProfile small through EdgeLink, as an admin would.
func setLiveProfile(t testing.TB, ro *rollout, serial string) {
	t.Helper()
	res := ro.fleet.Cameras()[0].Identity().Model.Resolutions
	params := "videocodec%3Dh264%26resolution%3D" + res[len(res)-1] + "%26fps%3D15"
	resp, body := ro.call(t, ro.token, "GET", ro.vapixURL(serial, "axis-cgi/param.cgi?action=update&StreamProfile.S0.Parameters="+params), "", nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "OK" {
		t.Fatalf("stream profile: %d %s", resp.StatusCode, body)
	}
}

// problemType reads a problem+json answer's type.
func problemType(t testing.TB, resp *http.Response, body []byte) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, want a problem: %s", resp.StatusCode, ct, body)
	}
	var p struct{ Type string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Type, "https://camcloud.dev/problems/")
}

// TestLiveThroughTheRelay watches a camera over WebRTC through the relay's WHEP route and
// the agent link: a viewer gets H.264 starting with a key frame, 20 viewers cost the
// camera one RTSP session, trickled candidates are taken, DELETE ends a session and the
// camera's stream stops after the grace; each session is in the audit log.
func TestLiveThroughTheRelay(t *testing.T) {
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), liveFlags()...))
	ro.onboardAll(t)
	cam := ro.fleet.Cameras()[0]
	serial := cam.Info().Serial
	viewerToken := ro.member(t, "viewer@example.com", role.Viewer)
	setLiveProfile(t, ro, serial)

	v := newLiveViewer(t)
	resp, body := v.whep(t, ro, viewerToken, serial)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("WHEP offer: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	prefix := ro.orgPath("/devices/" + serial + "/whep/")
	if !strings.HasPrefix(v.location, prefix) || len(v.location) < len(prefix)+32 {
		t.Fatalf("Location %q, want %s{session} with an unguessable ID", v.location, prefix)
	}
	if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Location") {
		t.Errorf("Access-Control-Expose-Headers %q: a player on another origin cannot read Location", got)
	}
	if au := v.firstFrame(t); !isKeyframe(au) {
		t.Fatalf("first frame is not a key frame (SPS, PPS, IDR)")
	}

	// Trickle ICE: a candidate the viewer learnt later is taken (204); a fragment with
	// other ICE credentials asks for a restart, which is refused (422).
	ufrag, pwd := iceCredentials(v.offer)
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	resp, body = ro.call(t, viewerToken, "PATCH", ro.r.URL+v.location, "application/trickle-ice-sdpfrag", strings.NewReader(frag))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH candidates: %d %s", resp.StatusCode, body)
	}
	resp, body = ro.call(t, viewerToken, "PATCH", ro.r.URL+v.location, "application/trickle-ice-sdpfrag",
		strings.NewReader("a=ice-ufrag:other\r\na=ice-pwd:otherotherotherotherother\r\n"))
	if resp.StatusCode != http.StatusUnprocessableEntity || problemType(t, resp, body) != "ice-restart-unsupported" {
		t.Fatalf("PATCH ICE restart: %d %s", resp.StatusCode, body)
	}
	// The session is the viewer's: the admin, of the same organization, cannot end it.
	resp, body = ro.call(t, ro.token, "DELETE", ro.r.URL+v.location, "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of another caller's session: %d %s", resp.StatusCode, body)
	}

	// 20 viewers, one RTSP session at the camera.
	viewers := []*liveViewer{v}
	for range 19 {
		w := newLiveViewer(t)
		if resp, body := w.whep(t, ro, viewerToken, serial); resp.StatusCode != http.StatusCreated {
			t.Fatalf("viewer %d: %d %s", len(viewers), resp.StatusCode, body)
		}
		viewers = append(viewers, w)
	}
	for i, w := range viewers[1:] {
		if au := w.firstFrame(t); !isKeyframe(au) {
			t.Fatalf("viewer %d: first frame is not a key frame", i+1)
		}
	}
	testtool.WaitFor(t, 30*time.Second, "every viewer receiving frames", func() bool {
		for _, w := range viewers {
			if w.frames.Load() < 5 {
				return false
			}
		}
		return true
	})
	if n := cam.Counters().RTSPPlaying; n != 1 {
		t.Errorf("20 viewers: %d RTSP sessions playing at the camera, want 1", n)
	}

	// Every viewer leaves (DELETE); the camera's stream stops after the grace.
	for i, w := range viewers {
		resp, body := ro.call(t, viewerToken, "DELETE", ro.r.URL+w.location, "", nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("viewer %d DELETE: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, _ = ro.call(t, viewerToken, "DELETE", ro.r.URL+v.location, "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE of an ended session: %d, want 404", resp.StatusCode)
	}
	testtool.WaitFor(t, 20*time.Second, "the camera's RTSP session ended after the grace", func() bool { return cam.Counters().RTSPPlaying == 0 })

	// A viewer whose peer connection closes ends its session without DELETE.
	w := newLiveViewer(t)
	if resp, body := w.whep(t, ro, viewerToken, serial); resp.StatusCode != http.StatusCreated {
		t.Fatalf("viewer after the grace: %d %s", resp.StatusCode, body)
	}
	w.firstFrame(t)
	_ = w.pc.Close()
	testtool.WaitFor(t, 30*time.Second, "the closed viewer's session ended", func() bool {
		resp, _ := ro.call(t, viewerToken, "DELETE", ro.r.URL+w.location, "", nil)
		return resp.StatusCode == http.StatusNotFound
	})

	// The audit log is written in batches: wait for every session's entry.
	var audit struct {
		Items []struct {
			Principal, Action, Serial string
			Status                    int
		}
	}
	testtool.WaitFor(t, 10*time.Second, "21 live sessions in the audit log", func() bool {
		ro.r.Do(t, "GET", ro.orgPath("/audit?action=live&limit=100"), ro.token, nil).JSON(t, &audit)
		return len(audit.Items) >= 21
	})
	for _, e := range audit.Items {
		if e.Serial != serial || e.Principal == "" || e.Status != http.StatusCreated {
			t.Errorf("audit entry %+v, want the viewer's session of %s, 201", e, serial)
		}
	}
}

// iceCredentials are the ICE username fragment and password of an SDP.
func iceCredentials(sdp string) (ufrag, pwd string) {
	for line := range strings.Lines(sdp) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok {
			pwd = v
		}
	}
	return ufrag, pwd
}

// TestLiveRefusals: live video is for the organization's members with a valid token and
// for well-formed offers; a full agent and an offline one answer 503.
func TestLiveRefusals(t *testing.T) {
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), liveFlags("--webrtc-max-sessions", "1")...))
	ro.onboardAll(t)
	serial := ro.fleet.Cameras()[0].Info().Serial
	setLiveProfile(t, ro, serial)
	url := ro.r.URL + ro.orgPath("/devices/"+serial+"/whep")
	offer := newLiveViewer(t).offer

	// Another organization's member, an expired token, and none.
	other := ro.r.CreateUser(t, "other@example.com", "other-password")
	if _, err := ro.r.Store.CreateOrg(context.Background(), "other", other.ID); err != nil {
		t.Fatal(err)
	}
	otherToken := ro.r.Login(t, "other@example.com", "other-password")
	expired, hash := auth.NewSecret(auth.PrefixAccessToken)
	now := ro.r.Store.Now()
	if err := ro.r.Store.CreateToken(context.Background(), hash, store.Token{Kind: store.TokenUser, Subject: other.ID,
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, token string
		status      int
	}{{"another organization's member", otherToken, 404}, {"an expired token", expired, 401}, {"no token", "", 401}} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := ro.r.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.status)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("%s: no Access-Control-Allow-Origin: a player on another origin cannot read the error", c.name)
		}
	}

	// Malformed SDP, SDP without H.264 video the agent can send, a wrong media type, an
	// unknown device.
	for _, c := range []struct {
		name, ctype, body, serial string
		status                    int
		problem                   string
	}{
		{"not SDP", "application/sdp", "hello", serial, 400, "bad-sdp"},
		{"no H.264", "application/sdp", strings.ReplaceAll(offer, "H264", "H265"), serial, 400, "bad-sdp"},
		{"JSON", "application/json", `{"sdp":"v=0"}`, serial, 415, "unsupported-media-type"},
		{"unknown device", "application/sdp", offer, "ACCC8EFFFFFF", 404, "not-found"},
	} {
		resp, body := ro.call(t, ro.token, "POST", ro.r.URL+ro.orgPath("/devices/"+c.serial+"/whep"), c.ctype, strings.NewReader(c.body))
		if resp.StatusCode != c.status || problemType(t, resp, body) != c.problem {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.problem)
		}
	}

	// CORS preflight, as a WHEP player on another origin sends it.
	req, _ := http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", "https://player.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := ro.r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") == "" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// One session allowed: the second is refused with live-sessions-full.
	v := newLiveViewer(t)
	if resp, body := v.whep(t, ro, ro.token, serial); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first session: %d %s", resp.StatusCode, body)
	}
	resp, body := newLiveViewer(t).whep(t, ro, ro.token, serial)
	if resp.StatusCode != http.StatusServiceUnavailable || problemType(t, resp, body) != "live-sessions-full" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("session over the limit: %d %s", resp.StatusCode, body)
	}

	// The agent offline: 503 agent-offline, once the relay saw the link go (a request
	// while it goes may fail with agent-error 502).
	ro.stop()
	testtool.WaitFor(t, 20*time.Second, "agent-offline", func() bool {
		resp, body = newLiveViewer(t).whep(t, ro, ro.token, serial)
		return resp.StatusCode == http.StatusServiceUnavailable && problemType(t, resp, body) == "agent-offline"
	})
}
