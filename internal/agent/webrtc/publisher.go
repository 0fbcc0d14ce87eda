package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	pwebrtc "github.com/pion/webrtc/v4"
)

// DefaultGrace is how long a camera pull outlives its last viewer.
const DefaultGrace = 10 * time.Second

// Endpoint is where a camera stream is pulled from: an rtsp:// URL and the account.
type Endpoint struct {
	URL      string // rtsp://host:port/path?query, without credentials
	Username string
	Password string
}

// Source tells the publisher where a camera's stream is. The edge host implements it with
// its fleet (address, stored credentials, stream profile to RTSP arguments).
type Source interface {
	// Endpoint resolves a camera and stream profile ("" for the camera's default stream).
	Endpoint(ctx context.Context, camera, profile string) (Endpoint, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, camera, profile string) (Endpoint, error)

// Endpoint calls f.
func (f SourceFunc) Endpoint(ctx context.Context, camera, profile string) (Endpoint, error) {
	return f(ctx, camera, profile)
}

// Config configures a Publisher.
type Config struct {
	Source Source
	// Grace is how long a pull outlives its last viewer (DefaultGrace when zero).
	Grace time.Duration
	// SettingEngine is the base of every peer connection's settings (ICE candidates,
	// ports, NAT 1:1); zero value: pion's defaults.
	SettingEngine pwebrtc.SettingEngine
	// Logger receives the publisher's logs (default: discarded).
	Logger *slog.Logger
	// NoKeyframeCache makes new viewers wait for the camera's next key frame instead of
	// starting from the cached group: only for measuring what the cache saves.
	NoKeyframeCache bool
}

// Errors a caller can tell apart.
var (
	ErrClosed   = errors.New("webrtc: publisher closed")
	ErrBadOffer = errors.New("webrtc: bad offer")
	ErrNoVideo  = errors.New("webrtc: camera stream has no H.264 video")
)

// Publisher serves live video of many cameras to many viewers; one per agent.
type Publisher struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	pulls  map[pullKey]*pull
	closed bool
	wg     sync.WaitGroup // pulls' and sessions' goroutines
}

type pullKey struct{ camera, profile string }

// New makes a Publisher; Close stops it.
func New(cfg Config) *Publisher {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg, log: log, pulls: map[pullKey]*pull{}}
}

// Session is one viewer's peer connection.
type Session struct {
	pc   *pwebrtc.PeerConnection
	v    *viewer
	p    *pull
	done chan struct{}

	ended     chan struct{} // closed when the peer connection failed or closed
	endedOnce sync.Once

	mu    sync.Mutex
	state int // sessionPending, sessionWatching or sessionClosed
}

const (
	sessionPending  = iota // answered, not connected yet
	sessionWatching        // connected: the pull feeds it
	sessionClosed
)

// Done is closed when the session has ended (closed, or the peer connection failed).
func (s *Session) Done() <-chan struct{} { return s.done }

// connected starts feeding the viewer once its connection is up: packets written before
// DTLS is done are lost, and the first ones must be the cached key frame group.
func (s *Session) connected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != sessionPending {
		return
	}
	s.state = sessionWatching
	s.p.enter(s.v)
}

// Close ends the session; the pull goes on for other viewers or until its grace ends.
func (s *Session) Close() error {
	s.mu.Lock()
	st := s.state
	s.state = sessionClosed
	s.mu.Unlock()
	if st == sessionClosed {
		<-s.done
		return nil
	}
	s.p.leave(s, st == sessionWatching)
	err := s.pc.Close()
	s.v.stop()
	<-s.v.stopped
	close(s.done)
	if err != nil {
		return fmt.Errorf("webrtc: close peer connection: %w", err)
	}
	return nil
}

// Watch answers a viewer's SDP offer for a camera's stream profile: it starts (or joins)
// the camera's pull, waits for the camera's stream description, and returns the SDP answer
// with every ICE candidate gathered (no trickle) and the session, which the caller closes.
// Data channels the viewer opens are closed: WatchChannels takes them.
func (p *Publisher) Watch(ctx context.Context, camera, profile, offer string) (string, *Session, error) {
	return p.WatchChannels(ctx, camera, profile, offer, nil)
}

// ChannelFunc takes a data channel the viewer opened on its peer connection (its label
// says what for). It is called on pion's goroutine, possibly before WatchChannels has
// returned, and must not block; the channel closes with the session.
type ChannelFunc func(dc *pwebrtc.DataChannel)

// WatchChannels is Watch with the viewer's data channels (negotiated in its offer, an
// m=application section) handed to channels; nil closes them.
func (p *Publisher) WatchChannels(ctx context.Context, camera, profile, offer string, channels ChannelFunc) (string, *Session, error) {
	desc := pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeOffer, SDP: offer}
	if _, err := desc.Unmarshal(); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	pl, err := p.join(camera, profile)
	if err != nil {
		return "", nil, err
	}
	info, err := pl.wait(ctx)
	if err != nil {
		pl.release()
		return "", nil, err
	}
	answer, s, err := p.answer(ctx, pl, info, desc, channels)
	if err != nil {
		pl.release()
		return "", nil, err
	}
	return answer, s, nil
}

// join finds or starts the pull of a camera stream and counts one more pending viewer,
// which keeps the pull from its grace timer until release or leave.
func (p *Publisher) join(camera, profile string) (*pull, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	k := pullKey{camera, profile}
	pl := p.pulls[k]
	if pl == nil {
		pl = newPull(p, k)
		p.pulls[k] = pl
		p.wg.Go(pl.run)
	}
	pl.hold()
	return pl, nil
}

// forget removes a pull that stopped from the map, if it is still the one there.
func (p *Publisher) forget(pl *pull) {
	p.mu.Lock()
	if p.pulls[pl.key] == pl {
		delete(p.pulls, pl.key)
	}
	p.mu.Unlock()
}

func (p *Publisher) answer(ctx context.Context, pl *pull, info streamInfo, offer pwebrtc.SessionDescription, channels ChannelFunc) (string, *Session, error) {
	m := &pwebrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return "", nil, fmt.Errorf("webrtc: codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := pwebrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return "", nil, fmt.Errorf("webrtc: interceptors: %w", err)
	}
	api := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithInterceptorRegistry(ir), pwebrtc.WithSettingEngine(p.cfg.SettingEngine))
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		return "", nil, fmt.Errorf("webrtc: peer connection: %w", err)
	}
	fail := func(err error) (string, *Session, error) {
		_ = pc.Close()
		return "", nil, err
	}
	video, err := pwebrtc.NewTrackLocalStaticRTP(pwebrtc.RTPCodecCapability{
		MimeType:    pwebrtc.MimeTypeH264,
		ClockRate:   90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profileLevelID(info.sps),
	}, "video", pl.key.camera)
	if err != nil {
		return fail(fmt.Errorf("webrtc: video track: %w", err))
	}
	vs, err := pc.AddTrack(video)
	if err != nil {
		return fail(fmt.Errorf("webrtc: add video track: %w", err))
	}
	senders := []*pwebrtc.RTPSender{vs}
	if info.audio != nil {
		as, err := pc.AddTrack(info.audio)
		if err != nil {
			return fail(fmt.Errorf("webrtc: add audio track: %w", err))
		}
		senders = append(senders, as)
	}
	// Set before the offer is taken: the viewer may open a channel as soon as it is
	// connected.
	pc.OnDataChannel(func(dc *pwebrtc.DataChannel) {
		if channels == nil {
			_ = dc.Close()
			return
		}
		channels(dc)
	})
	if err := pc.SetRemoteDescription(offer); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrBadOffer, err))
	}
	if !negotiated(pc, vs) {
		return fail(fmt.Errorf("%w: no H.264 (packetization-mode=1, profile %s) the viewer can receive", ErrBadOffer, profileLevelID(info.sps)))
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: answer: %w", ErrBadOffer, err))
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		// The remote description was taken: what fails now is a track the offer has no
		// codec for (H.264 offered nowhere, or not in the video section).
		return fail(fmt.Errorf("%w: set local description: %w", ErrBadOffer, err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("webrtc: gathering ICE candidates: %w", ctx.Err()))
	}

	v := newViewer(video, p.log)
	s := &Session{pc: pc, v: v, p: pl, done: make(chan struct{}), ended: make(chan struct{})}
	v.session = s
	pc.OnConnectionStateChange(func(st pwebrtc.PeerConnectionState) {
		switch st {
		case pwebrtc.PeerConnectionStateConnected:
			s.connected()
		case pwebrtc.PeerConnectionStateFailed, pwebrtc.PeerConnectionStateClosed:
			s.endedOnce.Do(func() { close(s.ended) })
		}
	})
	// The session is adopted and its goroutines started in one step under the
	// publisher's lock, checked against Close: Close marks the publisher closed under the
	// same lock before it waits, so no goroutine is added to a WaitGroup being waited on,
	// and every adopted session has the viewer goroutine its Close waits for.
	p.mu.Lock()
	if p.closed || !pl.adopt(s) {
		p.mu.Unlock()
		return fail(ErrClosed)
	}
	// Closing is not done on pion's callback goroutine: Close waits for pion's routines.
	p.wg.Go(func() {
		select {
		case <-s.ended:
			_ = s.Close()
		case <-s.done:
		}
	})
	p.wg.Go(v.run)
	for _, snd := range senders {
		p.wg.Go(func() { readRTCP(snd, func() { pl.refresh(v) }) })
	}
	p.mu.Unlock()
	return pc.LocalDescription().SDP, s, nil
}

// negotiated reports whether the offer took the sender's track: its transceiver has a
// media section (a mid) and a codec.
func negotiated(pc *pwebrtc.PeerConnection, s *pwebrtc.RTPSender) bool {
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == s {
			return t.Mid() != "" && len(s.GetParameters().Codecs) > 0
		}
	}
	return false
}

// Close stops every pull and session.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	pulls := make([]*pull, 0, len(p.pulls))
	for _, pl := range p.pulls {
		pulls = append(pulls, pl)
	}
	p.mu.Unlock()
	for _, pl := range pulls {
		pl.close()
	}
	p.wg.Wait()
	return nil
}

// LoopbackOnly is a SettingEngine whose ICE uses 127.0.0.1 only, for tests and for
// viewers on the agent's own host.
func LoopbackOnly() pwebrtc.SettingEngine {
	var se pwebrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pwebrtc.NetworkType{pwebrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return se
}

// AddCandidate adds an ICE candidate the viewer learnt after its offer (trickle ICE,
// RFC 8838): candidate is an SDP attribute value ("candidate:..."), mid the media section
// it belongs to ("" for the first).
func (s *Session) AddCandidate(candidate, mid string) error {
	init := pwebrtc.ICECandidateInit{Candidate: candidate}
	if mid != "" {
		init.SDPMid = &mid
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("%w: candidate: %w", ErrBadOffer, err)
	}
	return nil
}

// RemoteICE is the viewer's ICE username fragment and password, from its offer: a
// trickled candidate with others belongs to an ICE restart.
func (s *Session) RemoteICE() (ufrag, pwd string) {
	d := s.pc.RemoteDescription()
	if d == nil {
		return "", ""
	}
	for _, line := range strings.Split(d.SDP, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}
