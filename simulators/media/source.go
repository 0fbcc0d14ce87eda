package media

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Source plays the clip in real time for a whole fleet: one goroutine, one timeline.
// Each frame goes only to the servers that have a viewer at that moment, so an idle
// camera costs nothing per frame.
type Source struct {
	clip *Clip

	mu    sync.Mutex
	sinks map[*Server]struct{}
}

// NewSource prepares a source for clip; nothing plays until Run.
func NewSource(clip *Clip) *Source {
	return &Source{clip: clip, sinks: map[*Server]struct{}{}}
}

func (s *Source) add(srv *Server) {
	s.mu.Lock()
	s.sinks[srv] = struct{}{}
	s.mu.Unlock()
}

func (s *Source) remove(srv *Server) {
	s.mu.Lock()
	delete(s.sinks, srv)
	s.mu.Unlock()
}

// Run loops the clip until ctx is done. RTP timestamps keep increasing across the loop
// point (one frame duration per frame), and sequence numbers are contiguous within a
// session.
func (s *Source) Run(ctx context.Context) error {
	frameDur := time.Second / time.Duration(s.clip.FPS)
	tsStep := uint32(90000 / s.clip.FPS)
	ts := rand.Uint32()
	seq := uint16(rand.Uint32())
	start := time.Now()
	var active []*Server
	for n := 0; ; n++ {
		// Sleep until the frame's slot on an absolute schedule, so timing does not drift.
		if wait := time.Until(start.Add(time.Duration(n) * frameDur)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		frame := s.clip.Frames[n%len(s.clip.Frames)]
		active = active[:0]
		s.mu.Lock()
		for srv := range s.sinks {
			if srv.readers.Load() > 0 {
				active = append(active, srv)
			}
		}
		s.mu.Unlock()
		for _, srv := range active {
			srv.writeFrame(frame, seq, ts)
		}
		seq += uint16(len(frame))
		ts += tsStep
	}
}
