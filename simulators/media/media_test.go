package media

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

func TestClipParsesIntoFrames(t *testing.T) {
	clip, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(clip.Frames), 4*builtinKey.FPS; got != want {
		t.Fatalf("clip has %d frames, want %d (4 s at %d fps)", got, want, builtinKey.FPS)
	}
	for i, f := range clip.Frames {
		if len(f.Body) == 0 || !f.Body[len(f.Body)-1].Marker {
			t.Fatalf("frame %d does not end with a marked RTP packet", i)
		}
		for _, p := range f.Head {
			if p.Marker {
				t.Fatalf("frame %d: a packet before the picture is marked", i)
			}
		}
		if f.Key != (i%builtinKey.GOP == 0) {
			t.Fatalf("frame %d: key frame %v, want one every %d frames", i, f.Key, builtinKey.GOP)
		}
	}
	again, _ := DefaultClip()
	if again != clip {
		t.Fatal("the clip must be parsed once and shared")
	}
}

func TestParseClipRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("not h264"), {0, 0, 1, 0x09, 0xf0}} {
		if _, err := ParseClip(in, 25); err == nil {
			t.Errorf("ParseClip(%q) succeeded", in)
		}
	}
}

// startServer runs a source and one camera server with the account root/pass.
func startServer(t *testing.T, plays *atomic.Int32) *Server {
	t.Helper()
	clip, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	_ = clip
	src := NewSource()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = src.Run(ctx)
	}()
	srv := NewServer(src, ServerConfig{
		Realm: "AXIS_ACCC8E010000",
		Credentials: func(u string) (string, bool) {
			return "pass", u == "root"
		},
		OnPlay: func() { plays.Add(1) },
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
	})
	return srv
}

func rtspURL(srv *Server, userinfo string) string {
	return "rtsp://" + userinfo + "@" + srv.Addr() + StreamPath
}

func TestFFprobeSeesH264(t *testing.T) {
	ffprobe := testtool.Require(t, "ffprobe")
	var plays atomic.Int32
	srv := startServer(t, &plays)
	out, err := exec.Command(ffprobe, "-v", "error", "-rw_timeout", "10000000", "-show_entries", "stream=codec_name,width,height",
		"-of", "compact", rtspURL(srv, "root:pass")+"?videocodec=h264&resolution=640x360").CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "codec_name=h264") || !strings.Contains(string(out), "width=640") {
		t.Fatalf("ffprobe does not report H.264 640x360:\n%s", out)
	}
}

func TestFFmpegRecordsFiveSeconds(t *testing.T) {
	ffmpeg := testtool.Require(t, "ffmpeg")
	ffprobe := testtool.Require(t, "ffprobe")
	var plays atomic.Int32
	srv := startServer(t, &plays)
	file := filepath.Join(t.TempDir(), "rec.mp4")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i", rtspURL(srv, "root:pass"),
		"-t", "5", "-c", "copy", file).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || d < 4.5 || d > 5.5 {
		// Five seconds span more than one loop of the 4 s clip: timestamps must keep going.
		t.Fatalf("recording lasts %q s, want about 5", out)
	}
	if plays.Load() != 1 {
		t.Fatalf("sessions counted: %d, want 1", plays.Load())
	}
}

func TestWrongPasswordAndPath(t *testing.T) {
	ffprobe := testtool.Require(t, "ffprobe")
	var plays atomic.Int32
	srv := startServer(t, &plays)
	for _, url := range []string{rtspURL(srv, "root:wrong"), rtspURL(srv, "nobody:pass"), "rtsp://root:pass@" + srv.Addr() + "/other"} {
		out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp", url).CombinedOutput()
		if err == nil {
			t.Errorf("ffprobe %s succeeded", url)
		}
		if !strings.Contains(string(out), "401") && !strings.Contains(string(out), "404") {
			t.Errorf("ffprobe %s: want 401 or 404, got %s", url, out)
		}
	}
	if plays.Load() != 0 {
		t.Fatalf("refused clients counted as sessions: %d", plays.Load())
	}
}

func TestRestartOnSamePort(t *testing.T) {
	ffprobe := testtool.Require(t, "ffprobe")
	var plays atomic.Int32
	srv := startServer(t, &plays)
	addr := srv.Addr()
	srv.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", "tcp", rtspURL(srv, "root:pass")).CombinedOutput(); err != nil {
		t.Fatalf("after restart: %v\n%s", err, out)
	}
}
