package camsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
	"github.com/opencamcloud/camcloud/simulators/media"
)

// rtspURL is the camera's stream URL with the admin account and the given arguments.
func rtspURL(cam *camsim.Camera, args string) string {
	u := strings.Replace(cam.Info().RTSP, "rtsp://", "rtsp://"+camsimtest.User+":"+camsimtest.Password+"@", 1)
	if args != "" {
		u += "?" + args
	}
	return u
}

type probed struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
	} `json:"streams"`
	Packets []struct {
		Flags string `json:"flags"`
	} `json:"packets"`
}

// probe runs ffprobe on url over transport; frames > 0 also reads that many video frames
// as packets (counted, not timed: over UDP ffmpeg rebases timestamps when the first RTCP sender report
// arrives, which would cut a timed read short).
func probe(t *testing.T, url, transport string, frames int) probed {
	t.Helper()
	ffprobe := testtool.Require(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-v", "error", "-rtsp_transport", transport, "-of", "json"}
	if frames > 0 {
		args = append(args, "-select_streams", "v", "-show_entries", "stream=codec_type,codec_name,width,height,avg_frame_rate:packet=flags",
			"-read_intervals", fmt.Sprintf("%%+#%d", frames))
	} else {
		args = append(args, "-show_entries", "stream=codec_type,codec_name,width,height,avg_frame_rate")
	}
	out, err := exec.CommandContext(ctx, ffprobe, append(args, url)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s over %s: %v\n%s", url, transport, err, stderr)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

// checkGOP asserts the frames start with a key frame and have one exactly every gop frames.
func checkGOP(t *testing.T, p probed, gop int) {
	t.Helper()
	var keys []int
	for i, f := range p.Packets {
		if strings.Contains(f.Flags, "K") {
			keys = append(keys, i)
		}
	}
	if len(keys) < 2 || keys[0] != 0 {
		t.Fatalf("key frames at %v of %d frames: want the first and at least one more", keys, len(p.Packets))
	}
	for i := 1; i < len(keys); i++ {
		if keys[i]-keys[i-1] != gop {
			t.Fatalf("key frames at %v: want one every %d frames", keys, gop)
		}
	}
}

// TestRTSPResolutionsOverTCPAndUDP reads every resolution the first model advertises, over
// both transports: size, frame rate and the default GOP as ffprobe sees them.
func TestRTSPResolutionsOverTCPAndUDP(t *testing.T) {
	testtool.Require(t, "ffmpeg")
	cam := camsimtest.Start(t, 1).Cameras()[0]
	for _, res := range cam.Identity().Model.Resolutions {
		for _, transport := range []string{"tcp", "udp"} {
			t.Run(res+"/"+transport, func(t *testing.T) {
				t.Parallel()
				p := probe(t, rtspURL(cam, "resolution="+res), transport, 40)
				if len(p.Streams) != 1 {
					t.Fatalf("streams: %+v", p.Streams)
				}
				s := p.Streams[0]
				if got := fmt.Sprintf("%dx%d", s.Width, s.Height); s.CodecName != "h264" || got != res || s.AvgFrameRate != "25/1" {
					t.Fatalf("got %s %s at %s fps, want h264 %s at 25/1", s.CodecName, got, s.AvgFrameRate, res)
				}
				checkGOP(t, p, 32)
			})
		}
	}
}

// TestRTSPKeyFrameIntervalAndRate: a GOP of 1 s and one of 2 s, a lower frame rate, H.265
// where the model has it, stream profiles, and the arguments a camera refuses.
func TestRTSPKeyFrameIntervalAndRate(t *testing.T) {
	testtool.Require(t, "ffmpeg")
	fleet := camsimtest.Start(t, 3)
	cam := fleet.Cameras()[0]
	t.Run("gop 1 s over tcp", func(t *testing.T) {
		t.Parallel()
		checkGOP(t, probe(t, rtspURL(cam, "resolution=640x360&videokeyframeinterval=25"), "tcp", 55), 25)
	})
	t.Run("gop 2 s over udp", func(t *testing.T) {
		t.Parallel()
		checkGOP(t, probe(t, rtspURL(cam, "resolution=640x360&videokeyframeinterval=50"), "udp", 55), 50)
	})
	t.Run("h265 at 10 fps", func(t *testing.T) {
		t.Parallel()
		p := probe(t, rtspURL(cam, "resolution=640x360&videocodec=h265&fps=10&videokeyframeinterval=10"), "tcp", 15)
		if s := p.Streams[0]; s.CodecName != "hevc" || s.AvgFrameRate != "10/1" {
			t.Fatalf("got %+v, want hevc at 10 fps", s)
		}
		checkGOP(t, p, 10)
	})
	t.Run("stream profile", func(t *testing.T) {
		t.Parallel()
		hc := digestClient(camsimtest.User, camsimtest.Password)
		resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/param.cgi?action=add&template=streamprofile&group=StreamProfile&StreamProfile.S.Name=low&StreamProfile.S.Parameters=" +
			url.QueryEscape("resolution=640x360&fps=5"))
		if err != nil {
			t.Fatal(err)
		}
		if out := readAll(t, resp); !strings.HasSuffix(out, "OK\n") {
			t.Fatalf("add profile: %q", out)
		}
		// Later arguments override the profile (vapix.md 15).
		p := probe(t, rtspURL(cam, "streamprofile=low&fps=10"), "tcp", 0)
		if s := p.Streams[0]; s.Width != 640 || s.AvgFrameRate != "10/1" {
			t.Fatalf("profile stream: %+v, want 640x360 at 10 fps", s)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ffprobe := testtool.Require(t, "ffprobe")
		m3106 := fleet.Cameras()[2]
		if m3106.Identity().Model.ProdNbr != "M3106-L Mk II" {
			t.Fatalf("camera 2 is a %s", m3106.Identity().Model.ProdNbr)
		}
		for _, u := range []string{
			rtspURL(cam, "resolution=1000x1000"), rtspURL(cam, "camera=2"), rtspURL(cam, "fps=99"),
			rtspURL(cam, "videokeyframeinterval=0"), rtspURL(cam, "videocodec=mpeg2"), rtspURL(cam, "streamprofile=nope"),
			rtspURL(cam, "video=0"), rtspURL(m3106, "videocodec=h265"),
		} {
			out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp", u).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "400") {
				t.Errorf("%s: want 400 Bad Request, got %v %s", u, err, out)
			}
		}
	})
}

// TestRTSPStampsAudioAndEvents plays video, audio and the metadata track with a gortsplib
// client: every frame's stamp follows the previous one without a gap and is fresh, audio
// flows, and a motion event triggered on the control API arrives as ONVIF XML.
func TestRTSPStampsAudioAndEvents(t *testing.T) {
	fleet := camsimtest.Start(t, 1)
	cam := fleet.Cameras()[0]
	control := httptest.NewServer(fleet.ControlHandler())
	defer control.Close()

	u, err := base.ParseURL(rtspURL(cam, "resolution=640x360&audio=1&event=on"))
	if err != nil {
		t.Fatal(err)
	}
	// TCP: a gap must mean camsim skipped a frame, not that loopback UDP dropped one.
	tcp := gortsplib.ProtocolTCP
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var h264f *format.H264
	var g711f *format.G711
	var metaMedia *description.Media
	videoMedia := desc.FindFormat(&h264f)
	audioMedia := desc.FindFormat(&g711f)
	for _, m := range desc.Medias {
		if m.Type == description.MediaTypeApplication {
			metaMedia = m
		}
	}
	if videoMedia == nil || audioMedia == nil || metaMedia == nil {
		t.Fatalf("medias: %+v", desc.Medias)
	}
	if g, ok := metaMedia.Formats[0].(*format.Generic); !ok || g.RTPMa != "vnd.onvif.metadata/90000" {
		t.Fatalf("metadata format: %#v", metaMedia.Formats[0])
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	dec, err := h264f.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var stamps []media.Stamp
	var lateness time.Duration
	audioPackets := 0
	var docs []string
	var cur bytes.Buffer
	c.OnPacketRTP(videoMedia, h264f, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err != nil {
			return // not the end of an access unit yet
		}
		st, ok := media.FindStamp(media.CodecH264, au)
		if !ok {
			t.Error("a frame without a stamp")
			return
		}
		mu.Lock()
		stamps = append(stamps, st)
		lateness = max(lateness, time.Since(st.Capture))
		mu.Unlock()
	})
	c.OnPacketRTP(audioMedia, g711f, func(pkt *rtp.Packet) {
		mu.Lock()
		audioPackets++
		mu.Unlock()
	})
	c.OnPacketRTP(metaMedia, metaMedia.Formats[0], func(pkt *rtp.Packet) {
		mu.Lock()
		cur.Write(pkt.Payload)
		if pkt.Marker {
			docs = append(docs, cur.String())
			cur.Reset()
		}
		mu.Unlock()
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	count := func(f func() bool) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return f() }
	}
	// The first document is the empty stream Axis cameras start with.
	testtool.WaitFor(t, 10*time.Second, "the first metadata document", count(func() bool { return len(docs) > 0 }))
	resp, err := http.Post(control.URL+"/cameras/"+cam.Identity().Serial+"/motion", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("control motion: %s", resp.Status)
	}
	testtool.WaitFor(t, 10*time.Second, "the motion event on the metadata track", count(func() bool {
		for _, d := range docs {
			if strings.Contains(d, "tns1:RuleEngine/MotionRegionDetector/Motion</wsnt:Topic>") &&
				strings.Contains(d, `PropertyOperation="Changed"`) && strings.Contains(d, `<tt:SimpleItem Name="State" Value="1"/>`) {
				return true
			}
		}
		return false
	}))
	testtool.WaitFor(t, 15*time.Second, "60 frames and 2 s of audio", count(func() bool { return len(stamps) >= 60 && audioPackets >= 100 }))
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(docs[0], `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(docs[0], "<tt:MetadataStream") {
		t.Fatalf("first document: %q", docs[0])
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i].Seq != stamps[i-1].Seq+1 {
			t.Fatalf("frame %d: sequence %d after %d", i, stamps[i].Seq, stamps[i-1].Seq)
		}
		if stamps[i].Capture.Before(stamps[i-1].Capture) {
			t.Fatalf("frame %d captured before the previous one", i)
		}
	}
	// 25 fps on average (a player that fell behind on a busy machine catches up with a
	// short burst, so single intervals vary).
	n := len(stamps) - 1
	if d := stamps[n].Capture.Sub(stamps[0].Capture); d < time.Duration(n)*32*time.Millisecond || d > time.Duration(n)*50*time.Millisecond {
		t.Fatalf("%d frames over %s, want about %s", n, d, time.Duration(n)*40*time.Millisecond)
	}
	if lateness > time.Second {
		t.Fatalf("a frame arrived %s after its capture time", lateness)
	}
}

// TestBackchannelAudioIsCounted sends G.711 on the ONVIF back channel and sees the bytes
// in the camera's counters.
func TestBackchannelAudioIsCounted(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	u, err := base.ParseURL(rtspURL(cam, "resolution=640x360"))
	if err != nil {
		t.Fatal(err)
	}
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, RequestBackChannels: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var back *description.Media
	for _, m := range desc.Medias {
		if m.IsBackChannel {
			back = m
		}
	}
	if back == nil {
		t.Fatalf("no back channel among %+v", desc.Medias)
	}
	if _, err := c.Setup(desc.BaseURL, back, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), Marker: true}, Payload: bytes.Repeat([]byte{0xff}, 160)}
		if err := c.WritePacketRTP(back, pkt); err != nil {
			t.Fatal(err)
		}
	}
	testtool.WaitFor(t, 10*time.Second, "1,600 audio bytes counted", func() bool { return cam.Counters().AudioBytes == 1600 })
}
