package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// startLiveWorld is startWorld with the edge host's WebRTC on loopback (the browser's
// loopback candidates meet it there) and its cameras onboarded.
func startLiveWorld(t testing.TB) *world {
	t.Helper()
	t.Setenv("EDGEHOST_WEBRTC_LOOPBACK_ONLY", "true") // read by the edge host child process
	w := startWorld(t, 1)
	onboard(t, w, w.cameras[0])
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
	frames := func() int { return liveFrames(t, ctx) }
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

// liveFrames is the number of frames the live page's video has decoded.
func liveFrames(t testing.TB, ctx context.Context) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const v = document.querySelector("video.live"); return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// turnMetric reads one of the relay's TURN metrics (a sample's full name, labels
// included) from /metrics; 0 when absent.
func turnMetric(t testing.TB, w *world, name string) float64 {
	t.Helper()
	res := w.r.Do(t, "GET", "/metrics", "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", res.Status)
	}
	for line := range strings.Lines(string(res.Body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", name, err)
			}
			return f
		}
	}
	return 0
}

// TestLivePageThroughTURN: a viewer forces the live video through the relay's built-in
// TURN (only relayed candidates), over UDP, TCP and TLS in turn, first by a bookmarked
// URL, then with the page's path choice; each time the video plays, the page says it is
// relayed over that transport, and the relay's TURN made an allocation and relayed the
// video.
func TestLivePageThroughTURN(t *testing.T) {
	w := startLiveWorld(t)
	serial := w.cameras[0].Info().Serial
	email, pw := w.member(t, "viewer", role.Viewer)
	ctx := tab(t)
	live := w.r.URL + "/ui/devices/" + serial + "/live"
	if err := chromedp.Do(ctx, signIn(w, email, pw), chromedp.WaitVisible(chromedp.CSS(`main table`))); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ via, proto string }{
		{"turn-udp", "udp"}, {"turn-tcp", "tcp"}, {"turn-tls", "tls"},
	} {
		t.Run(tc.via, func(t *testing.T) {
			allocations := turnMetric(t, w, "relay_turn_allocations_total")
			relayed := turnMetric(t, w, `relay_turn_relayed_bytes_total{direction="from_peer"}`)
			if i == 0 {
				// A bookmarked URL.
				if err := chromedp.Do(ctx, chromedp.Navigate(live+"?via="+tc.via)); err != nil {
					t.Fatal(err)
				}
			} else {
				// The page's choice, which the URL then shows.
				js := fmt.Sprintf(`(() => { const s = document.querySelector("select[name=via]"); s.value = %q; s.dispatchEvent(new Event("change")); return location.search; })()`, tc.via)
				search, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
				if err != nil {
					t.Fatal(err)
				}
				if search != "?via="+tc.via {
					t.Errorf("URL query %q after choosing %s, want ?via=%s", search, tc.via, tc.via)
				}
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-conn="relayed"][data-relay="`+tc.proto+`"]`))); err != nil {
				t.Fatal(err)
			}
			first := liveFrames(t, ctx)
			testtool.WaitFor(t, 30*time.Second, "decoded frames increasing", func() bool { return liveFrames(t, ctx) > first+5 })
			if tc.proto == "tls" {
				if err := chromedp.Do(ctx, screenshot("live-turn")); err != nil {
					t.Fatal(err)
				}
			}
			conn, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`.conn`)))
			if err != nil {
				t.Fatal(err)
			}
			if want := "relayed (TURN over " + strings.ToUpper(tc.proto); !strings.HasPrefix(conn, want) {
				t.Errorf("connection shown as %q, want %q…", conn, want)
			}
			if n := turnMetric(t, w, "relay_turn_allocations_total"); n <= allocations {
				t.Errorf("relay_turn_allocations_total %v, was %v: the browser allocated nothing at the relay's TURN", n, allocations)
			}
			if n := turnMetric(t, w, `relay_turn_relayed_bytes_total{direction="from_peer"}`); n <= relayed {
				t.Errorf("TURN relayed %v bytes from peers, was %v: the video did not come through it", n, relayed)
			}
		})
	}
}

// firstFrameJS starts a WHEP session from the page (the console's origin), as the live
// page does, and resolves to the milliseconds from the POST to the first decoded frame
// (requestVideoFrameCallback); it then ends the session.
const firstFrameJS = `(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  const v = document.createElement("video");
  v.muted = true; v.autoplay = true; document.body.append(v);
  const ms = new MediaStream();
  pc.ontrack = (e) => { ms.addTrack(e.track); v.srcObject = ms; };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === "complete") r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") r(); };
  });
  const frame = new Promise((r) => v.requestVideoFrameCallback(() => r(performance.now())));
  const t0 = performance.now();
  const res = await fetch(%q, { method: "POST", headers: { Authorization: "Bearer " + %q, "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error("WHEP " + res.status + " " + await res.text());
  const loc = res.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  const dt = (await frame) - t0;
  await fetch(loc, { method: "DELETE", headers: { Authorization: "Bearer " + %q } });
  pc.close(); v.remove();
  return dt;
})()`

// whepResolution is the camera's resolution in BenchmarkWHEPFirstFrame (one the model
// has: 1920x1080, 1280x720, 640x360...).
var whepResolution = flag.String("whep.resolution", "1280x720", "camera resolution of BenchmarkWHEPFirstFrame")

// firstFrames measures tries WHEP sessions' first frame in Chromium, after one untimed
// session that starts the camera's pull; sorted, in milliseconds.
func firstFrames(b *testing.B, w *world, tries int) []float64 {
	b.Helper()
	serial := w.cameras[0].Info().Serial
	// A 2 s GOP (25 fps, a key frame every 50 frames) at -whep.resolution.
	res := w.r.Do(b, "GET", w.orgPath("/devices/"+serial+"/vapix/axis-cgi/param.cgi?action=update&StreamProfile.S0.Parameters="+
		"videocodec%3Dh264%26resolution%3D"+*whepResolution+"%26fps%3D25%26videokeyframeinterval%3D50"), w.admin, nil)
	if res.Status != http.StatusOK {
		b.Fatalf("stream profile: %d %s", res.Status, res.Body)
	}
	// The camera prepares a new stream variant first; a WHEP offer meanwhile may find its
	// stream too slow to start (502), so the untimed first session is tried until it plays.
	ctx := tab(b, "502 ")
	if err := chromedp.Do(ctx, chromedp.Navigate(w.r.URL+"/ui/signin")); err != nil {
		b.Fatal(err)
	}
	js := fmt.Sprintf(firstFrameJS, w.orgPath("/devices/"+serial+"/whep?profile=profile_1"), w.admin, w.admin)
	testtool.WaitFor(b, 3*time.Minute, "the camera's stream playing", func() bool {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
		return err == nil
	})
	var out []float64
	for i := range tries {
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatalf("try %d: %v", i, err)
		}
		out = append(out, ms)
	}
	slices.Sort(out)
	return out
}

// BenchmarkWHEPFirstFrame measures, in Chromium, the time from the WHEP POST to the first
// decoded frame of a camera already streaming to the agent (2 s GOP), over 20 sessions:
// median and 95th percentile, with the publisher's keyframe cache and without it (the
// baseline: a viewer waits for the camera's next key frame), in the same run.
//
//	go test -run '^$' -bench WHEPFirstFrame -benchtime 1x ./web [-args -whep.resolution=640x360]
func BenchmarkWHEPFirstFrame(b *testing.B) {
	const tries = 20
	pct := func(ms []float64, p float64) float64 { return ms[int(p*float64(len(ms)-1)+0.5)] }
	for b.Loop() {
		cached := firstFrames(b, startLiveWorld(b), tries)
		b.Setenv("EDGEHOST_WEBRTC_NO_KEYFRAME_CACHE", "true")
		uncached := firstFrames(b, startLiveWorld(b), tries)
		b.ReportMetric(pct(cached, 0.5), "ms/median")
		b.ReportMetric(pct(cached, 0.95), "ms/p95")
		b.ReportMetric(pct(uncached, 0.5), "ms/median-nocache")
		b.ReportMetric(pct(uncached, 0.95), "ms/p95-nocache")
	}
}
