package webrtc

import (
	"context"
	"errors"
	"testing"
)

// Any RTP payload is read without a panic and within its bounds.
func FuzzInspectH264(f *testing.F) {
	f.Add([]byte{0x65, 0x88})                         // IDR slice
	f.Add([]byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00}) // STAP-A, SPS, truncated
	f.Add([]byte{0x7c, 0x85, 0x00})                   // FU-A start of an IDR
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := inspectH264(payload)
		if in.sps != nil && (len(in.sps) == 0 || in.sps[0]&0x1f != nalSPS) {
			t.Fatalf("sps %x is not an SPS", in.sps)
		}
		_ = profileLevelID(in.sps)
	})
}

// Any offer gives an answer or an error, never a panic; the offers are refused or reach
// the source, which knows no camera here.
func FuzzWatchOffer(f *testing.F) {
	f.Add("")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n")
	f.Add("v=0\r\nm=audio 0 RTP/AVP 0\r\n")
	noCamera := errors.New("no camera")
	pub := New(Config{Source: SourceFunc(func(context.Context, string, string) (Endpoint, error) {
		return Endpoint{}, noCamera
	}), SettingEngine: LoopbackOnly()})
	f.Cleanup(func() { _ = pub.Close() })
	f.Fuzz(func(t *testing.T, offer string) {
		_, s, err := pub.Watch(context.Background(), "cam", "", offer)
		if err == nil {
			_ = s.Close()
			t.Fatal("an answer without a camera")
		}
		if !errors.Is(err, ErrBadOffer) && !errors.Is(err, noCamera) {
			t.Fatalf("err = %v, want ErrBadOffer or the source's error", err)
		}
	})
}
