package media

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// videoSink receives a player's frames: one camera's stream of that variant.
type videoSink interface {
	writeVideo(f *Frame, stamp *rtp.Packet, seq uint16, ts uint32, at time.Time)
}

// audioSink receives the audio player's packets.
type audioSink interface {
	writeAudio(payload []byte, seq uint16, ts uint32, at time.Time)
}

// Source plays media in real time for a whole fleet: one player, one goroutine and one
// timeline per video variant that somebody watches, and one for audio. A player starts with
// its first viewer and stops with its last, so idle variants and idle cameras cost nothing.
type Source struct {
	wg      sync.WaitGroup // players running
	mu      sync.Mutex
	closed  bool
	players map[VideoKey]*player
	audio   *audioPlayer
}

// NewSource prepares a source; players start when streams subscribe, Run ends them.
func NewSource() *Source {
	return &Source{players: map[VideoKey]*player{}}
}

// Run waits until ctx is done, then stops every player and refuses new ones.
func (s *Source) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	players := s.players
	s.players = map[VideoKey]*player{}
	audio := s.audio
	s.audio = nil
	s.mu.Unlock()
	for _, p := range players {
		p.stopOnce()
	}
	if audio != nil {
		audio.stopOnce()
	}
	s.wg.Wait()
	return nil
}

// subscribeVideo adds sink to the player of clip's variant, starting it if needed.
func (s *Source) subscribeVideo(clip *Clip, sink videoSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	p := s.players[clip.Key]
	if p == nil {
		p = &player{clip: clip, sinks: map[videoSink]struct{}{}, stop: make(chan struct{})}
		s.players[clip.Key] = p
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.run()
		}()
	}
	p.mu.Lock()
	p.sinks[sink] = struct{}{}
	p.mu.Unlock()
}

// unsubscribeVideo removes sink; the last one out stops the player.
func (s *Source) unsubscribeVideo(key VideoKey, sink videoSink) {
	s.mu.Lock()
	p := s.players[key]
	if p == nil {
		s.mu.Unlock()
		return
	}
	p.mu.Lock()
	delete(p.sinks, sink)
	empty := len(p.sinks) == 0
	p.mu.Unlock()
	if empty {
		delete(s.players, key)
	}
	s.mu.Unlock()
	if empty {
		// Not waited for: this runs in RTSP callbacks, and the player may be writing to
		// a stream at this moment. Sinks ignore writes after they left.
		p.stopOnce()
	}
}

func (s *Source) subscribeAudio(sink audioSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.audio == nil {
		a := &audioPlayer{sinks: map[audioSink]struct{}{}, stop: make(chan struct{})}
		s.audio = a
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			a.run()
		}()
	}
	s.audio.mu.Lock()
	s.audio.sinks[sink] = struct{}{}
	s.audio.mu.Unlock()
}

func (s *Source) unsubscribeAudio(sink audioSink) {
	s.mu.Lock()
	a := s.audio
	if a == nil {
		s.mu.Unlock()
		return
	}
	a.mu.Lock()
	delete(a.sinks, sink)
	empty := len(a.sinks) == 0
	a.mu.Unlock()
	if empty {
		s.audio = nil
	}
	s.mu.Unlock()
	if empty {
		a.stopOnce()
	}
}

// PlayerCount is how many video players run now (for tests: variants must be shared).
func (s *Source) PlayerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.players)
}

// ticker waits for slot n of a fixed-rate schedule that started at start. Sleeping to an
// absolute time keeps the rate from drifting; after a stall of more than a second the
// schedule is moved rather than sending a burst of old frames.
type ticker struct {
	start  time.Time
	period func(n int64) time.Duration
	n      int64
	stop   <-chan struct{}
}

func (t *ticker) next() (time.Time, bool) {
	due := t.start.Add(t.period(t.n))
	wait := time.Until(due)
	if wait < -time.Second {
		t.start = t.start.Add(-wait)
		wait = 0
	}
	if wait > 0 {
		tm := time.NewTimer(wait)
		select {
		case <-t.stop:
			tm.Stop()
			return time.Time{}, false
		case <-tm.C:
		}
	} else {
		select {
		case <-t.stop:
			return time.Time{}, false
		default:
		}
	}
	t.n++
	return time.Now(), true
}

type player struct {
	clip    *Clip
	stop    chan struct{}
	stopped sync.Once

	mu    sync.Mutex
	sinks map[videoSink]struct{}
}

func (p *player) stopOnce() { p.stopped.Do(func() { close(p.stop) }) }

// run loops the clip. RTP timestamps keep increasing across the loop point, sequence
// numbers are contiguous, and every frame gets a stamp with the next frame number.
func (p *player) run() {
	fps := int64(p.clip.Key.FPS)
	tk := &ticker{start: time.Now(), stop: p.stop, period: func(n int64) time.Duration { return time.Duration(n * int64(time.Second) / fps) }}
	ts0 := rand.Uint32()
	seq := uint16(rand.Uint32())
	var sinks []videoSink
	for n := int64(0); ; n++ {
		at, ok := tk.next()
		if !ok {
			return
		}
		f := &p.clip.Frames[n%int64(len(p.clip.Frames))]
		stamp := &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96},
			Payload: stampNALU(p.clip.Key.Codec, Stamp{Seq: uint64(n), Capture: at}),
		}
		ts := ts0 + uint32(n*90000/fps)
		sinks = sinks[:0]
		p.mu.Lock()
		for s := range p.sinks {
			sinks = append(sinks, s)
		}
		p.mu.Unlock()
		for _, s := range sinks {
			s.writeVideo(f, stamp, seq, ts, at)
		}
		seq += uint16(len(f.Head) + 1 + len(f.Body))
	}
}

type audioPlayer struct {
	stop    chan struct{}
	stopped sync.Once

	mu    sync.Mutex
	sinks map[audioSink]struct{}
}

func (a *audioPlayer) stopOnce() { a.stopped.Do(func() { close(a.stop) }) }

func (a *audioPlayer) run() {
	packets := audioPackets()
	tk := &ticker{start: time.Now(), stop: a.stop, period: func(n int64) time.Duration { return time.Duration(n) * audioPacketDur * time.Millisecond }}
	ts := rand.Uint32()
	seq := uint16(rand.Uint32())
	var sinks []audioSink
	for n := 0; ; n++ {
		at, ok := tk.next()
		if !ok {
			return
		}
		sinks = sinks[:0]
		a.mu.Lock()
		for s := range a.sinks {
			sinks = append(sinks, s)
		}
		a.mu.Unlock()
		for _, s := range sinks {
			s.writeAudio(packets[n%len(packets)], seq, ts, at)
		}
		seq++
		ts += audioPacketSize
	}
}
