package camsim

import (
	"io"
	"mime"
	"net/http"
)

// axis-cgi/audio/transmit.cgi: a client sends audio for the camera's speaker as the body
// of one long POST (G.711 mu-law, Content-Type audio/basic, or Axis' audio/axis-mulaw-128).
// camsim plays nothing; it counts the bytes as they arrive (Counters.AudioBytes, shared with
// the RTSP back channel), so that a test sees a talk-down session while it lasts.
// [U: privilege operator, the answer 204 once the body ends, 415 for other types.]

func (c *Camera) handleAudioTransmit(q *request) {
	if q.r.Method != http.MethodPost {
		q.w.Header().Set("Allow", "POST")
		q.text(http.StatusMethodNotAllowed, "Error: use POST\n")
		return
	}
	mt, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if mt != "audio/basic" && mt != "audio/axis-mulaw-128" {
		q.text(http.StatusUnsupportedMediaType, "Error: unsupported audio format\n")
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := q.r.Body.Read(buf)
		c.counters.audioBytes.Add(int64(n))
		if err == io.EOF {
			break
		}
		if err != nil {
			return // the client went away: what arrived is counted
		}
	}
	q.w.WriteHeader(http.StatusNoContent)
}
