package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
	pwebrtc "github.com/pion/webrtc/v4"
)

// Bounds of the keyframe cache: a group longer than this (a very long GOP at a high bit
// rate) is not cached; viewers joining then wait for the next key frame.
const maxCachePackets = 8192

// Reconnect backoff of a pull whose camera dropped the stream.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// streamInfo is what a pull learned from the camera's stream description.
type streamInfo struct {
	sps   []byte                       // from the SDP or the first in-band SPS
	audio *pwebrtc.TrackLocalStaticRTP // nil: the stream has no audio WebRTC can carry
}

// pull is one camera stream pulled over RTSP and fanned out to its viewers.
type pull struct {
	pub *Publisher
	key pullKey

	ctx    context.Context
	cancel context.CancelFunc

	ready     chan struct{} // closed once info or initErr is set
	info      streamInfo
	initErr   error
	announced bool // ready is closed (run's goroutine only)

	mu       sync.Mutex
	viewers  map[*viewer]struct{}  // connected viewers, fed packets
	sessions map[*Session]struct{} // every session, connected or not
	pending  int                   // viewers between join and leave or release, not connected yet
	grace    *time.Timer
	stopped  bool

	// Keyframe cache (under mu): the packets of the latest group, from its first SPS or
	// IDR packet on; valid is false until the first group starts or after an overflow.
	cache    []*rtp.Packet
	valid    bool
	auTS     uint32
	auKey    bool // the access unit auTS already started a group
	auParams bool // the access unit auTS carried an SPS
	haveAU   bool
	sps, pps []byte
}

func newPull(p *Publisher, k pullKey) *pull {
	ctx, cancel := context.WithCancel(context.Background())
	return &pull{pub: p, key: k, ctx: ctx, cancel: cancel, ready: make(chan struct{}), viewers: map[*viewer]struct{}{}, sessions: map[*Session]struct{}{}}
}

// wait waits for the camera's stream description.
func (pl *pull) wait(ctx context.Context) (streamInfo, error) {
	select {
	case <-pl.ready:
		if pl.initErr != nil {
			return streamInfo{}, pl.initErr
		}
		return pl.info, nil
	case <-ctx.Done():
		return streamInfo{}, fmt.Errorf("webrtc: waiting for camera %s: %w", pl.key.camera, ctx.Err())
	}
}

// hold counts a viewer on the way in (under the publisher's lock).
func (pl *pull) hold() {
	pl.mu.Lock()
	pl.pending++
	if pl.grace != nil {
		pl.grace.Stop()
		pl.grace = nil
	}
	pl.mu.Unlock()
}

// release undoes hold for a Watch that failed.
func (pl *pull) release() {
	pl.mu.Lock()
	pl.pending--
	pl.idleLocked()
	pl.mu.Unlock()
}

// adopt records a held viewer's session, so that close ends it. False: the pull stopped.
func (pl *pull) adopt(s *Session) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.stopped {
		return false
	}
	pl.sessions[s] = struct{}{}
	return true
}

// enter turns a held viewer into a watching one: it gets the cached group, then every
// live packet.
func (pl *pull) enter(v *viewer) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.stopped {
		return
	}
	pl.pending--
	pl.viewers[v] = struct{}{}
	pl.burstLocked(v)
}

// leave removes a session, watching or still held; the last one starts the grace timer.
func (pl *pull) leave(s *Session, watching bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if _, ok := pl.sessions[s]; !ok {
		return
	}
	delete(pl.sessions, s)
	if watching {
		delete(pl.viewers, s.v)
	} else {
		pl.pending--
	}
	pl.idleLocked()
}

// idleLocked starts the grace timer when nobody watches or is about to.
func (pl *pull) idleLocked() {
	if len(pl.viewers) > 0 || pl.pending > 0 || pl.stopped || pl.grace != nil {
		return
	}
	pl.grace = time.AfterFunc(pl.pub.cfg.Grace, func() {
		pl.mu.Lock()
		idle := len(pl.viewers) == 0 && pl.pending == 0
		pl.mu.Unlock()
		if idle {
			pl.close()
		}
	})
}

// refresh answers a viewer's PLI or FIR: the cached group again, without asking the camera.
func (pl *pull) refresh(v *viewer) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if _, ok := pl.viewers[v]; ok && v.mayRefresh() {
		pl.burstLocked(v)
	}
}

// burstLocked replaces what the viewer has queued with the cached group, or makes it wait
// for the next key frame when there is no group.
func (pl *pull) burstLocked(v *viewer) {
	if pl.valid && len(pl.cache) > 0 && !pl.pub.cfg.NoKeyframeCache {
		v.reset(pl.cache, false)
	} else {
		v.reset(nil, true)
	}
}

// close stops the pull and ends its sessions.
func (pl *pull) close() {
	pl.mu.Lock()
	if pl.stopped {
		pl.mu.Unlock()
		return
	}
	pl.stopped = true
	if pl.grace != nil {
		pl.grace.Stop()
	}
	ss := make([]*Session, 0, len(pl.sessions))
	for s := range pl.sessions {
		ss = append(ss, s)
	}
	pl.mu.Unlock()
	pl.pub.forget(pl)
	pl.cancel()
	for _, s := range ss {
		_ = s.Close()
	}
}

// run pulls the stream until the pull is closed, reconnecting with backoff.
func (pl *pull) run() {
	backoff := minBackoff
	first := true
	for {
		err := pl.once(first)
		if !pl.announced {
			pl.initErr = err
			if err == nil {
				pl.initErr = ErrClosed
			}
			close(pl.ready)
			pl.close()
			return
		}
		first = false
		if pl.ctx.Err() != nil {
			return
		}
		pl.pub.log.Warn("camera stream ended; reconnecting", "camera", pl.key.camera, "profile", pl.key.profile, "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-pl.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// once runs one RTSP session. On the first, a nil error after DESCRIBE and PLAY means the
// stream description is published (ready closed); later ones reuse the tracks from it.
func (pl *pull) once(first bool) error {
	ctx := pl.ctx
	ep, err := pl.pub.cfg.Source.Endpoint(ctx, pl.key.camera, pl.key.profile)
	if err != nil {
		return fmt.Errorf("webrtc: camera %s: %w", pl.key.camera, err)
	}
	u, err := base.ParseURL(ep.URL)
	if err != nil {
		return fmt.Errorf("webrtc: camera %s stream URL: %w", pl.key.camera, err)
	}
	if ep.Username != "" {
		u.User = url.UserPassword(ep.Username, ep.Password)
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return fmt.Errorf("webrtc: camera %s: rtsp: %w", pl.key.camera, err)
	}
	// The client's calls do not take a context: closing the client ends them.
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("webrtc: camera %s: describe: %w", pl.key.camera, err)
	}
	var h264 *format.H264
	vm := desc.FindFormat(&h264)
	if vm == nil {
		return fmt.Errorf("%w (camera %s)", ErrNoVideo, pl.key.camera)
	}
	var g711 *format.G711
	am := desc.FindFormat(&g711)
	if am != nil && (g711.SampleRate != 8000 || g711.ChannelCount > 1) {
		am = nil // WebRTC's PCMU and PCMA are 8 kHz mono
	}
	if _, err := c.Setup(desc.BaseURL, vm, 0, 0); err != nil {
		return fmt.Errorf("webrtc: camera %s: setup video: %w", pl.key.camera, err)
	}
	if first {
		sps, pps := h264.SafeParams()
		pl.mu.Lock()
		pl.sps, pl.pps = sps, pps
		pl.mu.Unlock()
		pl.info.sps = sps
	}
	c.OnPacketRTP(vm, h264, func(p *rtp.Packet) { pl.video(p) })
	if am != nil && (first && pl.info.audio == nil || !first && pl.info.audio != nil) {
		if _, err := c.Setup(desc.BaseURL, am, 0, 0); err != nil {
			return fmt.Errorf("webrtc: camera %s: setup audio: %w", pl.key.camera, err)
		}
		if first {
			mime := pwebrtc.MimeTypePCMA
			if g711.MULaw {
				mime = pwebrtc.MimeTypePCMU
			}
			pl.info.audio, err = pwebrtc.NewTrackLocalStaticRTP(pwebrtc.RTPCodecCapability{MimeType: mime, ClockRate: 8000, Channels: 1}, "audio", pl.key.camera)
			if err != nil {
				return fmt.Errorf("webrtc: audio track: %w", err)
			}
		}
		audio := pl.info.audio
		c.OnPacketRTP(am, g711, func(p *rtp.Packet) { _ = audio.WriteRTP(p) })
	}
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("webrtc: camera %s: play: %w", pl.key.camera, err)
	}
	if first {
		pl.announced = true
		close(pl.ready)
	}
	err = c.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("stream ended")
	}
	return fmt.Errorf("webrtc: camera %s: %w", pl.key.camera, err)
}

// video takes one H.264 packet from the camera: it updates the keyframe cache and queues
// the packet for every viewer.
func (pl *pull) video(p *rtp.Packet) {
	p = p.Clone() // kept in the cache and queues after the callback returns
	in := inspectH264(p.Payload)

	pl.mu.Lock()
	defer pl.mu.Unlock()
	if in.sps != nil {
		pl.sps = in.sps
	}
	if in.pps != nil {
		pl.pps = in.pps
	}
	if !pl.haveAU || p.Timestamp != pl.auTS {
		pl.haveAU, pl.auTS, pl.auKey, pl.auParams = true, p.Timestamp, false, false
	}
	var group []*rtp.Packet // non-nil: this packet starts a new group
	if (in.hasParams || in.idrStart) && !pl.auKey {
		pl.auKey = true
		// A group starts at its access unit's first parameter set or IDR packet; an IDR
		// that came without parameter sets gets the latest ones in front.
		if in.idrStart && !in.hasParams && !pl.auParams && pl.sps != nil && pl.pps != nil {
			group = append(group, pl.paramPacket(p, pl.sps), pl.paramPacket(p, pl.pps))
		}
		group = append(group, p)
	}
	if in.hasParams {
		pl.auParams = true
	}

	switch {
	case group != nil:
		pl.cache = append(pl.cache[:0:0], group...)
		pl.valid = true
	case pl.valid && len(pl.cache) < maxCachePackets:
		pl.cache = append(pl.cache, p)
	default:
		pl.cache, pl.valid = nil, false
	}
	for v := range pl.viewers {
		if !v.push(p, group) {
			pl.burstLocked(v) // the viewer fell behind: start it again from the cache
		}
	}
}

// paramPacket is an SPS or PPS as a single NAL unit packet in front of an IDR.
func (pl *pull) paramPacket(idr *rtp.Packet, nal []byte) *rtp.Packet {
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: idr.PayloadType, SequenceNumber: idr.SequenceNumber, Timestamp: idr.Timestamp, SSRC: idr.SSRC},
		Payload: nal,
	}
}
