package media

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Playback of edge-storage recordings over RTSP, as Axis devices do it (Edge storage
// API, "Play recording using RTSP"): rtsp://<host>/axis-media/media.amp?recordingid=<ID>.
// A recording plays the camera's video in real time from its start, once, for the
// recording's duration: the SDP says that duration (a=range:npt=0-<seconds>), PLAY
// answers with the same Range, and when the duration has played the server sends an RTCP
// BYE, which ends the stream for a client such as ffmpeg. Each playback has its own
// stream and timeline, apart from the live stream.

// Recording is what playback needs to know of a stored recording.
type Recording struct {
	Duration time.Duration
}

// playbackGrace is how long a session stays open after its BYE for the client's
// TEARDOWN before the server closes it.
const playbackGrace = 5 * time.Second

// recordingID is the recordingid argument of a media.amp query ("" when absent). A
// SETUP URL is the DESCRIBE URL with the control appended ("...?recordingid=X/trackID=0"),
// so anything from a slash on is not part of the ID.
func recordingID(query string) string {
	v, err := url.ParseQuery(query)
	if err != nil {
		return ""
	}
	id := v.Get("recordingid")
	if i := strings.IndexByte(id, '/'); i >= 0 {
		id = id[:i]
	}
	return id
}

// playback is one session playing a recording.
type playback struct {
	rec     Recording
	clip    *Clip
	stream  *gortsplib.ServerStream
	media   *description.Media
	stop    chan struct{}
	once    sync.Once
	started sync.Once // a second PLAY (after PAUSE) does not start another timeline
}

func (p *playback) close() {
	p.once.Do(func() {
		close(p.stop)
		p.stream.Close()
	})
}

// playbackClip is what a recording plays: the built-in clip, the video the camera
// recorded (storage.go's recorded resolution and frame rate).
func playbackClip() (*Clip, error) { return DefaultClip() }

func playbackDesc(clip *Clip) (*description.Session, *description.Media) {
	m := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{clip.Format()}}
	return &description.Session{Medias: []*description.Media{m}}, m
}

// describePlayback answers DESCRIBE for a recording: the SDP of the stream with the
// recording's range.
func (s *Server) describePlayback(id string) (*base.Response, error) {
	rec, ok := s.lookupRecording(id)
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	clip, err := playbackClip()
	if err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, err
	}
	desc, _ := playbackDesc(clip)
	sdp, err := desc.Marshal()
	if err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, err
	}
	// The range is a session-level attribute: before the first media line.
	rng := fmt.Sprintf("a=range:npt=0-%.3f\r\n", rec.Duration.Seconds())
	text := string(sdp)
	if i := strings.Index(text, "m="); i >= 0 {
		text = text[:i] + rng + text[i:]
	} else {
		text += rng
	}
	return &base.Response{StatusCode: base.StatusOK, Body: []byte(text)}, nil
}

func (s *Server) lookupRecording(id string) (Recording, bool) {
	if id == "" || s.cfg.Recording == nil {
		return Recording{}, false
	}
	return s.cfg.Recording(id)
}

// setupPlayback gives the session a stream of its own for the recording.
func (s *Server) setupPlayback(session *gortsplib.ServerSession, id string) (*base.Response, *gortsplib.ServerStream, error) {
	rec, ok := s.lookupRecording(id)
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	s.mu.Lock()
	srv := s.rtsp
	if p := s.playbacks[session]; p != nil {
		s.mu.Unlock()
		return &base.Response{StatusCode: base.StatusOK}, p.stream, nil
	}
	s.mu.Unlock()
	if srv == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	clip, err := playbackClip()
	if err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, nil, err
	}
	desc, media := playbackDesc(clip)
	stream := &gortsplib.ServerStream{Server: srv, Desc: desc}
	if err := stream.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, nil, fmt.Errorf("media: playback stream: %w", err)
	}
	p := &playback{rec: rec, clip: clip, stream: stream, media: media, stop: make(chan struct{})}
	s.mu.Lock()
	if s.playbacks == nil {
		s.playbacks = map[*gortsplib.ServerSession]*playback{}
	}
	s.playbacks[session] = p
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, stream, nil
}

// playPlayback starts sending the recording, if the session is a playback; the answer
// carries the range played.
func (s *Server) playPlayback(session *gortsplib.ServerSession) (*base.Response, bool) {
	s.mu.Lock()
	p := s.playbacks[session]
	s.mu.Unlock()
	if p == nil {
		return nil, false
	}
	p.started.Do(func() { go s.play(session, p) })
	return &base.Response{StatusCode: base.StatusOK, Header: base.Header{
		"Range": base.HeaderValue{fmt.Sprintf("npt=0.000-%.3f", p.rec.Duration.Seconds())},
	}}, true
}

// play sends the recording's frames on their schedule, then BYE, then closes the session
// if the client has not torn it down within the grace period.
func (s *Server) play(session *gortsplib.ServerSession, p *playback) {
	clip := p.clip
	fps := clip.Key.FPS
	frameDur := time.Second / time.Duration(fps)
	n := int(p.rec.Duration / frameDur)
	tsStep := uint32(90000 / fps)
	ts := rand.Uint32()
	seq := uint16(rand.Uint32())
	start := time.Now()
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * frameDur)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-p.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		f := &clip.Frames[i%len(clip.Frames)]
		for _, part := range [][]*rtp.Packet{f.Head, f.Body} {
			for _, pkt := range part {
				q := *pkt
				q.SequenceNumber = seq
				q.Timestamp = ts
				seq++
				if err := p.stream.WritePacketRTP(p.media, &q); err != nil {
					return
				}
			}
		}
		ts += tsStep
	}
	// The last frame lasts a frame duration too.
	t := time.NewTimer(time.Until(start.Add(time.Duration(n) * frameDur)))
	select {
	case <-p.stop:
		t.Stop()
		return
	case <-t.C:
	}
	_ = p.stream.WritePacketRTCP(p.media, &rtcp.Goodbye{Reason: "end of recording"})
	grace := time.NewTimer(playbackGrace)
	defer grace.Stop()
	select {
	case <-p.stop:
	case <-grace.C:
		session.Close()
	}
}

// closePlayback ends the session's playback, if it has one.
func (s *Server) closePlayback(session *gortsplib.ServerSession) {
	s.mu.Lock()
	p := s.playbacks[session]
	delete(s.playbacks, session)
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
}
