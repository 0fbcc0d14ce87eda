// Package media serves the simulated cameras' live video: one H.264 clip, read and
// packetized into RTP once per process, looped in real time and fanned out to the RTSP
// server of every camera that has a viewer.
package media

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

//go:embed testdata/clip.h264
var clipH264 []byte

// clipFPS is the frame rate the clip was made with (testdata/README.md).
const clipFPS = 25

// Clip is an H.264 stream cut into access units and packetized into RTP once.
type Clip struct {
	SPS, PPS []byte
	// Frames hold each access unit's RTP packets. Sequence numbers and timestamps are
	// set when sent; the payloads are shared and never written.
	Frames [][]*rtp.Packet
	FPS    int
}

var (
	defaultClip     *Clip
	defaultClipErr  error
	defaultClipOnce sync.Once
)

// DefaultClip returns the embedded clip, parsed on first use and shared afterwards.
func DefaultClip() (*Clip, error) {
	defaultClipOnce.Do(func() {
		defaultClip, defaultClipErr = ParseClip(clipH264, clipFPS)
	})
	return defaultClip, defaultClipErr
}

// ParseClip cuts an Annex-B stream with access unit delimiters into frames and
// packetizes them for payload type 96.
func ParseClip(annexB []byte, fps int) (*Clip, error) {
	nalus := splitAnnexB(annexB)
	if len(nalus) == 0 {
		return nil, errors.New("media: clip holds no NAL units")
	}
	c := &Clip{FPS: fps}
	var aus [][][]byte
	var cur [][]byte
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		case h264.NALUTypeSPS:
			if c.SPS == nil {
				c.SPS = n
			}
		case h264.NALUTypePPS:
			if c.PPS == nil {
				c.PPS = n
			}
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	if c.SPS == nil || c.PPS == nil || len(aus) == 0 {
		return nil, errors.New("media: clip lacks SPS, PPS or frames")
	}
	if !h264.IsRandomAccess(aus[0]) {
		return nil, errors.New("media: clip must start with an IDR frame to loop cleanly")
	}
	enc, err := c.Format().CreateEncoder()
	if err != nil {
		return nil, err
	}
	for _, au := range aus {
		pkts, err := enc.Encode(au)
		if err != nil {
			return nil, fmt.Errorf("media: packetize clip: %w", err)
		}
		c.Frames = append(c.Frames, pkts)
	}
	return c, nil
}

// Format is the H.264 format the clip is described with in SDP.
func (c *Clip) Format() *format.H264 {
	return &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: c.SPS, PPS: c.PPS}
}

// splitAnnexB cuts a whole Annex-B stream at its start codes (00 00 01 or 00 00 00 01).
// mediacommon's AnnexB parses one access unit at a time, with a cap on NAL units that a
// whole clip exceeds.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
