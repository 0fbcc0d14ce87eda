package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
)

// Every video frame camsim sends carries a Stamp in an SEI message of type
// user_data_unregistered (H.264 7.3.2.3, H.265 7.3.2.4), inserted at serve time in front of
// the frame's slices. The encoded clip is never touched: the SEI is a NAL unit of its own,
// so one encoding serves any number of viewers and every frame still says when it was
// sent and where it stands in the stream.

// StampUUID identifies camsim's SEI payload among other user data (an encoder's own
// user_data_unregistered messages, for example x264's version string).
var StampUUID = [16]byte{'c', 'a', 'm', 's', 'i', 'm', '-', 'f', 'r', 'a', 'm', 'e', '-', 'v', '1', 0}

// Stamp is what each frame carries: when the camera "captured" it (the moment it was
// sent) and its sequence number in the player's timeline, which counts up by one per frame
// for as long as anyone watches that stream.
type Stamp struct {
	Seq     uint64
	Capture time.Time
}

const (
	seiPayloadUserDataUnregistered = 5
	stampPayloadSize               = 16 + 8 + 8 // UUID, capture time (Unix ns), sequence
)

// stampNALU builds the SEI NAL unit carrying st, with emulation prevention applied.
func stampNALU(codec string, st Stamp) []byte {
	var rbsp []byte
	rbsp = append(rbsp, seiPayloadUserDataUnregistered, stampPayloadSize)
	rbsp = append(rbsp, StampUUID[:]...)
	rbsp = binary.BigEndian.AppendUint64(rbsp, uint64(st.Capture.UnixNano()))
	rbsp = binary.BigEndian.AppendUint64(rbsp, st.Seq)
	rbsp = append(rbsp, 0x80) // rbsp_trailing_bits
	var nalu []byte
	if codec == CodecH265 {
		nalu = []byte{h265NALPrefixSEI << 1, 1} // layer 0, temporal id 0 (+1)
	} else {
		nalu = []byte{6} // nal_ref_idc 0, type 6 (SEI)
	}
	return appendEscaped(nalu, rbsp)
}

// appendEscaped appends rbsp to dst with emulation prevention bytes: no 00 00 0x (x <= 3)
// may appear inside a NAL unit.
func appendEscaped(dst, rbsp []byte) []byte {
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// unescape removes emulation prevention bytes (00 00 03 -> 00 00).
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// ErrNoStamp says a NAL unit is not a camsim frame stamp.
var ErrNoStamp = errors.New("media: not a camsim frame stamp")

// ParseStamp reads the Stamp from one SEI NAL unit (without start code) of the given codec
// ("h264" or "h265"). It returns ErrNoStamp for any other NAL unit, including SEI messages
// that carry someone else's user data, and an error for a stamp that is cut short.
func ParseStamp(codec string, nalu []byte) (Stamp, error) {
	var body []byte
	switch codec {
	case CodecH264:
		if len(nalu) < 1 || nalu[0]&0x1f != 6 {
			return Stamp{}, ErrNoStamp
		}
		body = nalu[1:]
	case CodecH265:
		if len(nalu) < 2 || (nalu[0]>>1)&0x3f != h265NALPrefixSEI {
			return Stamp{}, ErrNoStamp
		}
		body = nalu[2:]
	default:
		return Stamp{}, errors.New("media: unknown codec " + codec)
	}
	b := unescape(body)
	// Walk the SEI messages: payload type and size are each coded as a run of 0xFF bytes
	// plus a last byte.
	for len(b) > 0 && !(len(b) == 1 && b[0] == 0x80) {
		typ, n, ok := seiNumber(b)
		if !ok {
			return Stamp{}, errors.New("media: SEI payload type cut short")
		}
		b = b[n:]
		size, n, ok := seiNumber(b)
		if !ok {
			return Stamp{}, errors.New("media: SEI payload size cut short")
		}
		b = b[n:]
		if size > len(b) {
			return Stamp{}, errors.New("media: SEI payload runs past the NAL unit")
		}
		payload := b[:size]
		b = b[size:]
		if typ != seiPayloadUserDataUnregistered || len(payload) < 16 || !bytes.Equal(payload[:16], StampUUID[:]) {
			continue
		}
		if len(payload) != stampPayloadSize {
			return Stamp{}, errors.New("media: camsim stamp has the wrong size")
		}
		ns := int64(binary.BigEndian.Uint64(payload[16:24]))
		return Stamp{Capture: time.Unix(0, ns), Seq: binary.BigEndian.Uint64(payload[24:32])}, nil
	}
	return Stamp{}, ErrNoStamp
}

// FindStamp looks for the Stamp among an access unit's NAL units.
func FindStamp(codec string, au [][]byte) (Stamp, bool) {
	for _, n := range au {
		if st, err := ParseStamp(codec, n); err == nil {
			return st, true
		}
	}
	return Stamp{}, false
}

func seiNumber(b []byte) (v, n int, ok bool) {
	for n < len(b) {
		c := b[n]
		n++
		v += int(c)
		if c != 0xff {
			return v, n, true
		}
		if v > 1<<20 {
			return 0, 0, false
		}
	}
	return 0, 0, false
}
