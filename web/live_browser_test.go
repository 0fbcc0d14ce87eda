package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// startLiveWorld is startWorld with the edge host's WebRTC on loopback (the browser's
// loopback candidates meet it there) and its cameras onboarded.
func startLiveWorld(t *testing.T) *world {
	t.Helper()
	t.Setenv("EDGEHOST_WEBRTC_LOOPBACK_ONLY", "true") // read by the edge host child process
	w := startWorld(t, 1)
	serial := w.cameras[0].Info().Serial
	res := w.r.Do(t, "POST", w.orgPath("/edgehosts/"+w.edge+"/onboard"), w.admin, map[string]any{"devices": []map[string]string{
		{"serial": serial, "username": camsimtest.User, "password": camsimtest.Password}}})
	if res.Status != http.StatusAccepted {
		t.Fatalf("onboard: %d %s", res.Status, res.Body)
	}
	testtool.WaitFor(t, 60*time.Second, "the camera onboarded", func() bool {
		res := w.r.Do(t, "GET", w.orgPath("/devices/"+serial), w.admin, nil)
		var d struct{ Status string }
		if res.Status == http.StatusOK {
			res.JSON(t, &d)
		}
		return d.Status == "onboarded"
	})
	return w
}

// TestChromiumDecodesH264 checks what the live page needs of the browser: Chromium can
// receive H.264 over WebRTC (Debian's build has the decoder).
func TestChromiumDecodesH264(t *testing.T) {
	ctx := tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	codecs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`RTCRtpReceiver.getCapabilities("video").codecs.map(c => c.mimeType + " " + (c.sdpFmtpLine || ""))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codecs {
		if strings.HasPrefix(c, "video/H264 ") && strings.Contains(c, "packetization-mode=1") {
			return
		}
	}
	t.Fatalf("Chromium receives no H.264 (packetization-mode=1) over WebRTC: %v", codecs)
}

// TestLivePage: a viewer opens a camera's live page from its device page; the video
// plays (decoded frames increase), the connection shows as direct, Stop ends the
// session and Restart plays again.
func TestLivePage(t *testing.T) {
	w := startLiveWorld(t)
	serial := w.cameras[0].Info().Serial
	email, pw := w.member(t, "viewer", role.Viewer)
	ctx := tab(t)
	frames := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const v = document.querySelector("video.live"); return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := chromedp.Do(ctx, signIn(w, email, pw),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
		chromedp.Navigate(w.r.URL+"/ui/devices/"+serial),
		chromedp.WaitVisible(text("Live video")),
		chromedp.Click(text("Live video")),
		chromedp.WaitVisible(chromedp.CSS(`video.live`)),
	); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 30*time.Second, "decoded frames", func() bool { return frames() > 0 })
	first := frames()
	testtool.WaitFor(t, 30*time.Second, "decoded frames increasing", func() bool { return frames() > first+5 })
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-conn="direct"]`)), screenshot("live")); err != nil {
		t.Fatal(err)
	}
	conn, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`.conn`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(conn, "direct (") || !strings.Contains(conn, "host") {
		t.Errorf("connection shown as %q, want direct, to the agent's host candidate", conn)
	}
	cam := w.cameras[0]
	if n := cam.Counters().RTSPPlaying; n != 1 {
		t.Errorf("%d RTSP sessions at the camera while one viewer watches, want 1", n)
	}

	// Stop ends the session; Restart plays again.
	if err := chromedp.Do(ctx, chromedp.Click(`//button[text()="Stop"]`), chromedp.WaitVisible(text("Stopped."))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`//button[text()="Restart"]`), chromedp.WaitVisible(text("Playing."))); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 30*time.Second, "decoded frames after restart", func() bool { return frames() > 5 })
}
