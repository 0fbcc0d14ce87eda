package media

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

func TestStampRoundTrip(t *testing.T) {
	// Values whose bytes hold 00 00 0x runs, which must be escaped inside the NAL unit.
	at := time.Unix(0, 0x0000_0001_0000_0300)
	for _, codec := range []string{CodecH264, CodecH265} {
		for _, seq := range []uint64{0, 1, 0x0000_0003_0000_0001, 1<<64 - 1} {
			n := stampNALU(codec, Stamp{Seq: seq, Capture: at})
			if bytes.Contains(n, []byte{0, 0, 0}) || bytes.Contains(n, []byte{0, 0, 1}) || bytes.Contains(n, []byte{0, 0, 2}) {
				t.Fatalf("%s seq %d: unescaped start code in % x", codec, seq, n)
			}
			got, err := ParseStamp(codec, n)
			if err != nil {
				t.Fatalf("%s seq %d: %v", codec, seq, err)
			}
			if got.Seq != seq || !got.Capture.Equal(at) {
				t.Fatalf("%s: got %+v, want seq %d at %v", codec, got, seq, at)
			}
			if _, ok := FindStamp(codec, [][]byte{{0x09, 0xf0}, n}); !ok {
				t.Fatalf("%s: FindStamp missed the stamp", codec)
			}
		}
	}
}

func TestParseStampRefusesOthers(t *testing.T) {
	other := appendEscaped([]byte{6}, append(append([]byte{5, 20}, make([]byte, 16)...), 1, 2, 3, 4, 0x80))
	for name, in := range map[string][]byte{
		"empty":             nil,
		"slice":             {0x65, 0x88, 0x84},
		"foreign user data": other,
		"h265 VPS as h264":  {0x40, 0x01},
	} {
		if _, err := ParseStamp(CodecH264, in); !errors.Is(err, ErrNoStamp) {
			t.Errorf("%s: err %v, want ErrNoStamp", name, err)
		}
	}
	short := stampNALU(CodecH264, Stamp{Seq: 7, Capture: time.Now()})
	if _, err := ParseStamp(CodecH264, short[:len(short)-6]); err == nil || errors.Is(err, ErrNoStamp) {
		t.Errorf("a cut stamp: err %v, want a parse error", err)
	}
}

func FuzzParseStamp(f *testing.F) {
	f.Add(true, stampNALU(CodecH264, Stamp{Seq: 42, Capture: time.Unix(1700000000, 5)}))
	f.Add(false, stampNALU(CodecH265, Stamp{Seq: 1, Capture: time.Unix(0, 0)}))
	f.Add(true, []byte{6, 5, 0xff})
	f.Fuzz(func(t *testing.T, h264 bool, nalu []byte) {
		codec := CodecH265
		if h264 {
			codec = CodecH264
		}
		st, err := ParseStamp(codec, nalu)
		if err != nil {
			return
		}
		// Whatever parses as a stamp says the same after a round trip.
		again, err := ParseStamp(codec, stampNALU(codec, st))
		if err != nil || again.Seq != st.Seq || !again.Capture.Equal(st.Capture) {
			t.Fatalf("round trip of %+v: %+v, %v", st, again, err)
		}
	})
}

// TestLoadVideoIsDeterministic encodes a small variant twice into fresh caches: the same
// recipe must give the same bytes, so a cache made on one run serves every later one.
func TestLoadVideoIsDeterministic(t *testing.T) {
	ffmpeg := testtool.Require(t, "ffmpeg")
	key := VideoKey{Codec: CodecH264, Width: 320, Height: 180, FPS: 10, GOP: 10}
	var outs [][]byte
	for range 2 {
		dir := t.TempDir()
		path := filepath.Join(dir, "clip.h264")
		data, err := encodeLocked(ffmpeg, encodeArgs(key), path)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, data)
		clip, err := parseClip(key, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(clip.Frames) != key.LoopFrames() {
			t.Fatalf("%d frames, want %d", len(clip.Frames), key.LoopFrames())
		}
		for i, fr := range clip.Frames {
			if fr.Key != (i%key.GOP == 0) {
				t.Fatalf("frame %d: key %v, want a key frame every %d", i, fr.Key, key.GOP)
			}
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatalf("two encodings differ (%d and %d bytes)", len(outs[0]), len(outs[1]))
	}
}

func TestVideoKeyLimits(t *testing.T) {
	for _, k := range []VideoKey{
		{Codec: "mpeg2", Width: 640, Height: 360, FPS: 25, GOP: 25},
		{Codec: CodecH264, Width: 641, Height: 360, FPS: 25, GOP: 25},
		{Codec: CodecH264, Width: 640, Height: 360, FPS: 0, GOP: 25},
		{Codec: CodecH264, Width: 640, Height: 360, FPS: 25, GOP: MaxGOP + 1},
	} {
		if _, err := LoadVideo(k); err == nil {
			t.Errorf("LoadVideo(%v) succeeded", k)
		}
	}
	if got := (VideoKey{Codec: CodecH264, Width: 1920, Height: 1080, FPS: 25, GOP: 32}).Bitrate(); got != 4_000_000 {
		t.Errorf("1080p25 bit rate %d, want 4 Mbit/s", got)
	}
	if got := (VideoKey{FPS: 25, GOP: 32}).LoopFrames(); got != 64 {
		t.Errorf("loop of GOP 32 at 25 fps: %d frames, want 64", got)
	}
}

// TestLoadVideoWithoutFFmpeg: where ffmpeg is missing, H.264 falls back to the built-in clip
// and H.265 is refused.
func TestLoadVideoWithoutFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	clip, err := LoadVideo(VideoKey{Codec: CodecH264, Width: 320, Height: 240, FPS: 7, GOP: 7})
	if err != nil || clip.Key != builtinKey {
		t.Fatalf("H.264 without ffmpeg: %v, %v", clip, err)
	}
	if _, err := LoadVideo(VideoKey{Codec: CodecH265, Width: 320, Height: 240, FPS: 7, GOP: 7}); !errors.Is(err, ErrNoEncoder) {
		t.Fatalf("H.265 without ffmpeg: %v, want ErrNoEncoder", err)
	}
}
