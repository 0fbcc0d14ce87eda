// Package media serves the simulated cameras' live video: H.264 or H.265 clips encoded once
// per process (or once per machine, cached on disk), cut into RTP packets once, looped in
// real time by one player per variant and fanned out to the RTSP server of every camera
// that has a viewer of that variant.
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

// Codecs a clip can be in, named as VAPIX's videocodec argument names them.
const (
	CodecH264 = "h264"
	CodecH265 = "h265"
)

// H.265 NAL unit types camsim looks at (H.265 table 7-1).
const (
	h265NALVPS       = 32
	h265NALSPS       = 33
	h265NALPPS       = 34
	h265NALAUD       = 35
	h265NALPrefixSEI = 39
)

//go:embed testdata/clip.h264
var clipH264 []byte

// builtinKey describes the embedded clip (testdata/README.md).
var builtinKey = VideoKey{Codec: CodecH264, Width: 640, Height: 360, FPS: 25, GOP: 25}

// Clip is a video stream cut into frames and packetized into RTP once.
type Clip struct {
	Key           VideoKey
	VPS, SPS, PPS []byte // VPS only for H.265
	// Frames hold each access unit's RTP packets. Sequence numbers and timestamps are set
	// when sent; the payloads are shared and never written.
	Frames []Frame
}

// Frame is one access unit as RTP packets: what comes before the picture (parameter sets,
// the encoder's SEI) and the picture itself. The stamp SEI goes between the two.
type Frame struct {
	Head []*rtp.Packet // no marker
	Body []*rtp.Packet // marker on the last packet
	Key  bool          // a random access point (IDR)
}

// Size is the frame's payload bytes.
func (f *Frame) Size() int {
	n := 0
	for _, p := range f.Head {
		n += len(p.Payload)
	}
	for _, p := range f.Body {
		n += len(p.Payload)
	}
	return n
}

var (
	defaultClip     *Clip
	defaultClipErr  error
	defaultClipOnce sync.Once
)

// DefaultClip returns the embedded clip (H.264, 640x360, 25 fps), parsed on first use and
// shared afterwards. It is what camsim serves when ffmpeg is not installed.
func DefaultClip() (*Clip, error) {
	defaultClipOnce.Do(func() {
		defaultClip, defaultClipErr = ParseClip(clipH264, builtinKey.FPS)
		if defaultClip != nil {
			defaultClip.Key = builtinKey
		}
	})
	return defaultClip, defaultClipErr
}

// ParseClip cuts an H.264 Annex-B stream with access unit delimiters into frames and
// packetizes them for payload type 96.
func ParseClip(annexB []byte, fps int) (*Clip, error) {
	return parseClip(VideoKey{Codec: CodecH264, FPS: fps}, annexB)
}

// parseClip cuts an Annex-B stream with access unit delimiters into frames and packetizes
// them for payload type 96. The stream must start with a random access point, so that the
// loop point is clean.
func parseClip(key VideoKey, annexB []byte) (*Clip, error) {
	nalus := splitAnnexB(annexB)
	if len(nalus) == 0 {
		return nil, errors.New("media: clip holds no NAL units")
	}
	c := &Clip{Key: key}
	h265 := key.Codec == CodecH265
	minLen := 1
	if h265 {
		minLen = 2
	}
	type au struct {
		head, body [][]byte
		key        bool
	}
	var aus []au
	var cur au
	started := false
	for _, n := range nalus {
		if len(n) < minLen {
			continue
		}
		var typ int
		var vcl, isKey bool
		if h265 {
			typ = int(n[0]>>1) & 0x3f
			vcl = typ < 32
			isKey = typ >= 16 && typ <= 21
			switch typ {
			case h265NALVPS:
				c.VPS = firstOf(c.VPS, n)
			case h265NALSPS:
				c.SPS = firstOf(c.SPS, n)
			case h265NALPPS:
				c.PPS = firstOf(c.PPS, n)
			}
		} else {
			typ = int(n[0] & 0x1f)
			vcl = typ >= 1 && typ <= 5
			isKey = typ == int(h264.NALUTypeIDR)
			switch h264.NALUType(typ) {
			case h264.NALUTypeSPS:
				c.SPS = firstOf(c.SPS, n)
			case h264.NALUTypePPS:
				c.PPS = firstOf(c.PPS, n)
			}
		}
		if (h265 && typ == h265NALAUD) || (!h265 && typ == int(h264.NALUTypeAccessUnitDelimiter)) {
			// Delimiters are not sent: over RTP the marker bit ends an access unit, and the
			// stamp SEI would otherwise have to follow one.
			if started {
				aus = append(aus, cur)
			}
			cur, started = au{}, true
			continue
		}
		started = true
		switch {
		case vcl:
			cur.body = append(cur.body, n)
			cur.key = cur.key || isKey
		case len(cur.body) == 0:
			cur.head = append(cur.head, n)
		default:
			cur.body = append(cur.body, n)
		}
	}
	if started {
		aus = append(aus, cur)
	}
	if c.SPS == nil || c.PPS == nil || (h265 && c.VPS == nil) {
		return nil, errors.New("media: clip lacks parameter sets")
	}
	aus = dropEmpty(aus, func(a au) bool { return len(a.body) == 0 })
	if len(aus) == 0 {
		return nil, errors.New("media: clip holds no frames")
	}
	if !aus[0].key {
		return nil, errors.New("media: clip must start with a key frame to loop cleanly")
	}
	enc, err := c.encoder()
	if err != nil {
		return nil, err
	}
	for _, a := range aus {
		f := Frame{Key: a.key}
		if len(a.head) > 0 {
			f.Head, err = enc(a.head)
			if err != nil {
				return nil, fmt.Errorf("media: packetize clip: %w", err)
			}
			for _, p := range f.Head {
				p.Marker = false
			}
		}
		f.Body, err = enc(a.body)
		if err != nil {
			return nil, fmt.Errorf("media: packetize clip: %w", err)
		}
		c.Frames = append(c.Frames, f)
	}
	return c, nil
}

func dropEmpty[T any](s []T, empty func(T) bool) []T {
	out := s[:0]
	for _, v := range s {
		if !empty(v) {
			out = append(out, v)
		}
	}
	return out
}

func firstOf(have, n []byte) []byte {
	if have != nil {
		return have
	}
	return n
}

func (c *Clip) encoder() (func([][]byte) ([]*rtp.Packet, error), error) {
	switch f := c.Format().(type) {
	case *format.H264:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		return e.Encode, nil
	case *format.H265:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		return e.Encode, nil
	}
	return nil, errors.New("media: no encoder")
}

// Format is the format the clip is described with in SDP (payload type 96).
func (c *Clip) Format() format.Format {
	if c.Key.Codec == CodecH265 {
		return &format.H265{PayloadTyp: 96, VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}
	}
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
