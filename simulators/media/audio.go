package media

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
)

// The audio track: G.711 mu-law, 8 kHz mono, 20 ms per packet, a 440 Hz tone that pauses
// every other half second (so that a listener hears it is alive). Computed once per process.
const (
	audioRate       = 8000
	audioPacketDur  = 20 // ms
	audioPacketSize = audioRate * audioPacketDur / 1000
	audioLoop       = audioRate // one second of samples
)

// AudioFormat is how the audio track and the back channel are described in SDP.
func AudioFormat() *format.G711 {
	return &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: audioRate, ChannelCount: 1}
}

var audioOnce = sync.OnceValue(func() [][]byte {
	lpcm := make([]byte, 0, audioLoop*2)
	for i := 0; i < audioLoop; i++ {
		v := 0.0
		if i < audioLoop/2 {
			v = 0.3 * math.Sin(2*math.Pi*440*float64(i)/audioRate)
		}
		lpcm = binary.BigEndian.AppendUint16(lpcm, uint16(int16(v*math.MaxInt16)))
	}
	enc, err := g711.Mulaw(lpcm).Marshal()
	if err != nil {
		panic(err) // the input is always whole 16-bit samples
	}
	var packets [][]byte
	for len(enc) >= audioPacketSize {
		packets = append(packets, enc[:audioPacketSize])
		enc = enc[audioPacketSize:]
	}
	return packets
})

// audioPackets are the payloads of one second of audio, 20 ms each.
func audioPackets() [][]byte { return audioOnce() }
