package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/agent/webrtc/webrtctest"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// TestLiveFromTheCamera: the agent on a camera serves its live video too: a WHEP offer
// through the relay is answered by it, and the viewer receives video.
func TestLiveFromTheCamera(t *testing.T) {
	r := relaytest.Start(t, relaytest.RealClock)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	serial := cam.Info().Serial
	org := claim(t, r, serial, cam.Info().OAK)
	cancel, done := enrollAndRun(t, r, cam, "--report-interval", "300ms", "--webrtc-loopback-only")
	defer func() { cancel(); <-done }()
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	testtool.WaitFor(t, 30*time.Second, "the camera managed and connected", func() bool {
		d, err := r.Store.Device(context.Background(), org, serial)
		return err == nil && d.Connected && d.EffectiveMode() == "managed"
	})

	pc := webrtctest.ViewerPeer(t)
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		if _, _, err := tr.ReadRTP(); err == nil {
			close(got)
		}
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, _ := http.NewRequest("POST", r.URL+"/api/v1/orgs/"+org+"/devices/"+serial+"/whep", strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
		t.Fatalf("WHEP offer: %d %s", resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no video from the camera's agent within 30 s")
	}
}
