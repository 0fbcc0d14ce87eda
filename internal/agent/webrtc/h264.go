package webrtc

import "encoding/hex"

// H.264 NAL unit types (ITU-T H.264 table 7-1) and RTP payload structures (RFC 6184).
const (
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8
	nalSTAPA = 24
	nalFUA   = 28
)

// nalInfo is what one H.264 RTP payload carries that the keyframe cache cares about.
type nalInfo struct {
	sps, pps  []byte // parameter sets carried whole in the packet
	idrStart  bool   // the packet starts an IDR slice
	hasParams bool   // the packet carries an SPS
}

// inspectH264 reads the NAL unit types of one RTP payload: a single NAL unit, an STAP-A
// aggregate, or an FU-A fragment (only its first fragment starts a NAL unit).
func inspectH264(payload []byte) nalInfo {
	var in nalInfo
	if len(payload) < 1 {
		return in
	}
	one := func(nal []byte) {
		if len(nal) == 0 {
			return
		}
		switch nal[0] & 0x1f {
		case nalIDR:
			in.idrStart = true
		case nalSPS:
			in.sps = nal
			in.hasParams = true
		case nalPPS:
			in.pps = nal
		}
	}
	switch t := payload[0] & 0x1f; t {
	case nalSTAPA:
		b := payload[1:]
		for len(b) >= 2 {
			n := int(b[0])<<8 | int(b[1])
			b = b[2:]
			if n > len(b) {
				break
			}
			one(b[:n])
			b = b[n:]
		}
	case nalFUA:
		if len(payload) >= 2 && payload[1]&0x80 != 0 && payload[1]&0x1f == nalIDR {
			in.idrStart = true
		}
	default:
		if t >= 1 && t <= 23 {
			one(payload)
		}
	}
	return in
}

// profileLevelID is the SDP profile-level-id of an SPS (its three bytes after the NAL
// header), or Constrained Baseline 3.1 when the SPS is unknown.
func profileLevelID(sps []byte) string {
	if len(sps) < 4 {
		return "42e01f"
	}
	return hex.EncodeToString(sps[1:4])
}
