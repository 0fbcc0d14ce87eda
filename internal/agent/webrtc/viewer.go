package webrtc

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pwebrtc "github.com/pion/webrtc/v4"
)

// maxQueue bounds a viewer's queued packets; beyond it the viewer restarts from the cache.
const maxQueue = 4096

// minRefresh is the least time between two refreshes a viewer's PLI or FIR asks for.
const minRefresh = 500 * time.Millisecond

// A cached group goes out in slices of burstSlice packets, burstGap apart, so that a
// group of hundreds of packets does not overrun the receiver's socket buffer at once.
const (
	burstSlice = 32
	burstGap   = time.Millisecond
)

// item is one queued packet; burst packets come from the keyframe cache.
type item struct {
	p          *rtp.Packet
	burst      bool
	burstStart bool
}

// viewer is one peer connection's video: a queue the pull fills and a goroutine that
// writes it to the track with the viewer's own sequence numbers and timestamps.
type viewer struct {
	track   *pwebrtc.TrackLocalStaticRTP
	log     *slog.Logger
	session *Session

	wake    chan struct{}
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu          sync.Mutex
	q, spare    []item
	waitKey     bool // drop live packets until a group starts
	lastRefresh time.Time

	// Writer state (run's goroutine only).
	started  bool
	seq      uint16
	lastOut  uint32
	offset   uint32 // live timestamp = camera timestamp + offset
	burstCam uint32 // camera timestamp of the burst's current access unit
	burstOut uint32
}

func newViewer(track *pwebrtc.TrackLocalStaticRTP, log *slog.Logger) *viewer {
	return &viewer{track: track, log: log, wake: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{}), waitKey: true}
}

func (v *viewer) signal() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// push queues a live packet; group is non-nil when the packet starts a group (with any
// parameter sets put in front). False: the queue is full.
func (v *viewer) push(p *rtp.Packet, group []*rtp.Packet) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if group != nil {
		v.waitKey = false
		if len(v.q)+len(group) > maxQueue {
			return false
		}
		for _, g := range group {
			v.q = append(v.q, item{p: g})
		}
	} else {
		if v.waitKey {
			return true
		}
		if len(v.q) >= maxQueue {
			return false
		}
		v.q = append(v.q, item{p: p})
	}
	v.signal()
	return true
}

// reset replaces the queue with a cached group (sent as a burst), or with nothing and a
// wait for the next group.
func (v *viewer) reset(cache []*rtp.Packet, waitKey bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.q = v.q[:0]
	v.waitKey = waitKey
	for i, p := range cache {
		v.q = append(v.q, item{p: p, burst: true, burstStart: i == 0})
	}
	v.signal()
}

// mayRefresh rate-limits refreshes asked for by the viewer.
func (v *viewer) mayRefresh() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if now.Sub(v.lastRefresh) < minRefresh {
		return false
	}
	v.lastRefresh = now
	return true
}

func (v *viewer) stop() { v.once.Do(func() { close(v.quit) }) }

// run writes queued packets until stop.
func (v *viewer) run() {
	defer close(v.stopped)
	for {
		select {
		case <-v.quit:
			return
		case <-v.wake:
		}
		v.mu.Lock()
		batch := v.q
		v.q, v.spare = v.spare[:0], batch
		v.mu.Unlock()
		inBurst := 0
		for i := range batch {
			if batch[i].burst {
				if inBurst++; inBurst%burstSlice == 0 && !v.pause() {
					return
				}
			}
			if err := v.write(batch[i]); err != nil {
				if !errors.Is(err, io.ErrClosedPipe) {
					v.log.Debug("write to viewer", "err", err)
				}
			}
			batch[i] = item{}
		}
	}
}

// pause waits burstGap; false: the viewer stopped meanwhile.
func (v *viewer) pause() bool {
	t := time.NewTimer(burstGap)
	defer t.Stop()
	select {
	case <-v.quit:
		return false
	case <-t.C:
		return true
	}
}

// write sends one packet with the viewer's sequence number and timestamp. Cached packets
// get timestamps one tick apart per access unit, after the last one sent, so the receiver
// shows them at once; live ones keep the camera's spacing from there on.
func (v *viewer) write(it item) error {
	p := it.p
	var ts uint32
	switch {
	case it.burstStart:
		v.burstCam = p.Timestamp
		if v.started {
			v.burstOut = v.lastOut + 1
		} else {
			v.burstOut = p.Timestamp
		}
		ts = v.burstOut
		v.offset = v.burstOut - v.burstCam
	case it.burst:
		if p.Timestamp != v.burstCam {
			v.burstCam = p.Timestamp
			v.burstOut++
		}
		ts = v.burstOut
		v.offset = v.burstOut - v.burstCam
	default:
		ts = p.Timestamp + v.offset
	}
	v.started = true
	v.lastOut = ts
	out := rtp.Packet{Header: p.Header, Payload: p.Payload}
	out.SequenceNumber = v.seq
	out.Timestamp = ts
	v.seq++
	return v.track.WriteRTP(&out)
}

// readRTCP reads a sender's RTCP until its peer connection closes, calling refresh for
// every PLI or FIR. Reading also lets pion's interceptors see receiver reports and NACKs.
func readRTCP(s *pwebrtc.RTPSender, refresh func()) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				refresh()
			}
		}
	}
}
