package media

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/pion/rtp"
)

// StreamPath is where Axis cameras serve live video (vapix.md section 15).
const StreamPath = "/axis-media/media.amp"

// Spec is what one RTSP request asks for, after the camera has read its arguments.
type Spec struct {
	Video  VideoKey // zero Codec: no video track (video=0)
	Audio  bool     // audio=1: a G.711 track
	Events bool     // event=on: the ONVIF metadata track
}

// DefaultSpec is served when ServerConfig.Resolve is nil: the built-in clip.
var DefaultSpec = Spec{Video: builtinKey}

// ServerConfig configures one camera's RTSP server. Zero values are documented per field.
type ServerConfig struct {
	// Listen is the TCP address (default 127.0.0.1:0). After the first Start the resolved
	// address is kept, so a restarted server comes back on the same port. RTP over UDP uses
	// a pair of ports on the same host, chosen at the first Start and kept likewise.
	Listen string
	// Realm of the RTSP Digest challenge, AXIS_<SERIAL> on Axis devices.
	Realm string
	// Credentials returns an account's password; nil serves without authentication.
	Credentials func(user string) (password string, ok bool)
	// OnPlay is called when a session starts playing (for counters).
	OnPlay func()
	// Recording finds a stored recording to play back by its ID (?recordingid=);
	// nil: the camera has none.
	Recording func(id string) (Recording, bool)
	// Resolve reads a request's query string into what to stream; an error answers
	// 400 Bad Request. Nil serves DefaultSpec whatever the query.
	Resolve func(query string) (Spec, error)
	// Events opens one viewer's feed of the camera's events as ONVIF tt:MetadataStream
	// documents: the current state of stateful events first, then each event as it
	// happens, until cancel. Nil leaves the metadata track silent.
	Events func() (initial [][]byte, updates <-chan []byte, cancel func())
	// OnBackchannel is called with the payload size of each audio packet a client sends on
	// the ONVIF back channel.
	OnBackchannel func(n int)
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// Server is one camera's RTSP server: DESCRIBE, SETUP, PLAY over TCP (RTP interleaved) or
// UDP. Each session has a stream of its own, fed by the Source's player of its variant:
// the encoded frames are shared, only RTP headers are per session.
type Server struct {
	src *Source
	cfg ServerConfig
	log *slog.Logger

	mu        sync.Mutex
	addr      string
	udpPort   int // RTP port; RTCP is the next one
	rtsp      *gortsplib.Server
	nonce     string
	streams   map[Spec]*stream // what DESCRIBE answered, by request
	bySession map[*gortsplib.ServerSession]*stream
	playing   map[*gortsplib.ServerSession]bool
	pending   map[*gortsplib.ServerConn]pendingPlay // PLAY being answered
	feeds     map[*gortsplib.ServerSession]func()
	// playbacks are the sessions playing a recording (playback.go).
	playbacks map[*gortsplib.ServerSession]*playback
}

// NewServer prepares a server playing from src; it listens on Start.
func NewServer(src *Source, cfg ServerConfig) *Server {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{src: src, cfg: cfg, log: cfg.Logger, addr: cfg.Listen}
}

// freeUDPPair finds an even port p on host with p and p+1 both free, as RTP and RTCP need.
func freeUDPPair(host string) (int, error) {
	for range 50 {
		a, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p >= 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p+1)))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p, nil
	}
	return 0, errors.New("no free pair of UDP ports")
}

// Start listens and serves. It may be called again after Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtsp != nil {
		return errors.New("media: server already started")
	}
	host, _, err := net.SplitHostPort(s.addr)
	if err != nil {
		return fmt.Errorf("media: rtsp listen %s: %w", s.addr, err)
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	s.nonce = hex.EncodeToString(nb[:])
	s.streams = map[Spec]*stream{}
	s.bySession = map[*gortsplib.ServerSession]*stream{}
	s.playing = map[*gortsplib.ServerSession]bool{}
	s.pending = map[*gortsplib.ServerConn]pendingPlay{}
	s.feeds = map[*gortsplib.ServerSession]func(){}
	for attempt := 0; ; attempt++ {
		if s.udpPort == 0 {
			if s.udpPort, err = freeUDPPair(host); err != nil {
				return fmt.Errorf("media: rtsp udp on %s: %w", host, err)
			}
		}
		srv := &gortsplib.Server{
			Handler:        (*handler)(s),
			RTSPAddress:    s.addr,
			UDPRTPAddress:  net.JoinHostPort(host, strconv.Itoa(s.udpPort)),
			UDPRTCPAddress: net.JoinHostPort(host, strconv.Itoa(s.udpPort+1)),
			// Session timeout as Axis announces it (Session: <id>;timeout=60).
			IdleTimeout: 60 * time.Second,
		}
		err = srv.Start()
		if err == nil {
			s.addr = srv.NetListener().Addr().String()
			s.rtsp = srv
			return nil
		}
		// The UDP pair may have been taken since it was chosen (another camera, another
		// process): choose again. A TCP address in use is final.
		var opErr *net.OpError
		if attempt < 5 && errors.As(err, &opErr) && opErr.Net == "udp" {
			s.udpPort = 0
			continue
		}
		return fmt.Errorf("media: rtsp listen %s: %w", s.addr, err)
	}
}

// Addr is the address the server listens on ("" before the first Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtsp == nil && s.addr == s.cfg.Listen {
		return ""
	}
	return s.addr
}

// Ports are the TCP (RTSP) and UDP (RTP, RTCP) addresses the server listens on or, after
// Close, listened on last and takes again at Start.
func (s *Server) Ports() (tcp, udp []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil || port == "0" {
		return nil, nil
	}
	tcp = []string{s.addr}
	if s.udpPort != 0 {
		udp = []string{net.JoinHostPort(host, strconv.Itoa(s.udpPort)), net.JoinHostPort(host, strconv.Itoa(s.udpPort+1))}
	}
	return tcp, udp
}

// Playing is the number of sessions playing now.
func (s *Server) Playing() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.playing)
}

// URL is the stream's rtsp:// URL.
func (s *Server) URL() string { return "rtsp://" + s.Addr() + StreamPath }

// Close stops serving and drops every session; Start brings the server back.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.rtsp
	s.rtsp = nil
	var streams []*stream
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	for _, st := range s.bySession {
		streams = append(streams, st)
	}
	s.streams = map[Spec]*stream{}
	s.bySession = map[*gortsplib.ServerSession]*stream{}
	playbacks := s.playbacks
	s.playbacks = nil
	feeds := s.feeds
	s.feeds = map[*gortsplib.ServerSession]func(){}
	s.mu.Unlock()
	for _, p := range playbacks {
		p.close()
	}
	for _, cancel := range feeds {
		cancel()
	}
	for _, st := range streams {
		st.close()
	}
	if srv != nil {
		srv.Close()
	}
}

// stream is one camera's stream of one Spec: its gortsplib stream and who uses it.
type stream struct {
	srv                      *Server
	spec                     Spec
	clip                     *Clip
	gs                       *gortsplib.ServerStream
	video, audio, meta, back *description.Media
	metaFormat               *format.Generic
	created                  time.Time   // guarded by srv.mu
	keyed                    atomic.Bool // a key frame was sent: later frames decode
	closed                   atomic.Bool
}

// newStream builds the stream's description: video, audio, metadata in the order Axis
// cameras list them, and an audio back channel for clients that ask for one.
func (s *Server) newStream(spec Spec) (*stream, error) {
	st := &stream{srv: s, spec: spec, created: time.Now()}
	var medias []*description.Media
	if spec.Video.Codec != "" {
		clip, err := LoadVideo(spec.Video)
		if err != nil {
			return nil, err
		}
		st.clip = clip
		st.video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{clip.Format()}}
		medias = append(medias, st.video)
	}
	if spec.Audio {
		st.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{AudioFormat()}}
		medias = append(medias, st.audio)
	}
	if spec.Events {
		// vapix.md 13.3: m=application ... RTP/AVP 98, a=rtpmap:98 vnd.onvif.metadata/90000.
		st.metaFormat = &format.Generic{PayloadTyp: 98, RTPMa: "vnd.onvif.metadata/90000"}
		if err := st.metaFormat.Init(); err != nil {
			return nil, err
		}
		st.meta = &description.Media{Type: description.MediaTypeApplication, Formats: []format.Format{st.metaFormat}}
		medias = append(medias, st.meta)
	}
	st.back = &description.Media{Type: description.MediaTypeAudio, IsBackChannel: true, Formats: []format.Format{AudioFormat()}}
	medias = append(medias, st.back)
	s.mu.Lock()
	srv := s.rtsp
	s.mu.Unlock()
	if srv == nil {
		return nil, errors.New("media: server closed")
	}
	st.gs = &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: medias}}
	if err := st.gs.Initialize(); err != nil {
		return nil, fmt.Errorf("media: stream: %w", err)
	}
	return st, nil
}

func (st *stream) close() {
	if st.closed.Swap(true) {
		return
	}
	if st.video != nil {
		st.srv.src.unsubscribeVideo(st.clip.Key, st)
	}
	if st.audio != nil {
		st.srv.src.unsubscribeAudio(st)
	}
	st.gs.Close()
}

func (st *stream) writeVideo(f *Frame, stamp *rtp.Packet, seq uint16, ts uint32, at time.Time) {
	if st.closed.Load() {
		return
	}
	// A stream starts with a key frame, as a camera's encoder starts a new stream: frames
	// before it would not decode.
	if !st.keyed.Load() {
		if !f.Key {
			return
		}
		st.keyed.Store(true)
	}
	write := func(pkt *rtp.Packet) bool {
		// The stream stamps its own SSRC into the packet: each stream gets a copy of the
		// header, the payload stays shared.
		p := *pkt
		p.SequenceNumber = seq
		p.Timestamp = ts
		seq++
		return st.gs.WritePacketRTPWithNTP(st.video, &p, at) == nil
	}
	for _, p := range f.Head {
		if !write(p) {
			return
		}
	}
	if !write(stamp) {
		return
	}
	for _, p := range f.Body {
		if !write(p) {
			return
		}
	}
}

func (st *stream) writeAudio(payload []byte, seq uint16, ts uint32, at time.Time) {
	if st.closed.Load() {
		return
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload}
	_ = st.gs.WritePacketRTPWithNTP(st.audio, p, at)
}

// describeStream returns the stream DESCRIBE answers for spec: it only carries the
// description. Each session then plays a stream of its own (sessionStream), so that it
// starts with a key frame whenever it joins. Description streams unused for a while are
// closed here, so that they cannot pile up.
func (s *Server) describeStream(spec Spec) (*stream, error) {
	s.mu.Lock()
	if st, ok := s.streams[spec]; ok {
		st.created = time.Now()
		s.mu.Unlock()
		return st, nil
	}
	var stale []*stream
	for k, st := range s.streams {
		if time.Since(st.created) > 30*time.Second {
			stale = append(stale, st)
			delete(s.streams, k)
		}
	}
	s.mu.Unlock()
	for _, st := range stale {
		st.close()
	}
	st, err := s.newStream(spec) // may encode a clip: not under the lock
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.rtsp == nil {
		s.mu.Unlock()
		st.close()
		return nil, errors.New("media: server closed")
	}
	if have, ok := s.streams[spec]; ok {
		s.mu.Unlock()
		st.close()
		return have, nil
	}
	s.streams[spec] = st
	s.mu.Unlock()
	return st, nil
}

// authorize checks RTSP Digest credentials the Axis way: realm AXIS_<SERIAL>, no qop,
// response = MD5(HA1:nonce:HA2) (RFC 2069; vapix.md 1.4).
func (s *Server) authorize(req *base.Request) (*base.Response, bool) {
	if s.cfg.Credentials == nil {
		return nil, true
	}
	s.mu.Lock()
	nonce := s.nonce
	s.mu.Unlock()
	challenge := &base.Response{
		StatusCode: base.StatusUnauthorized,
		Header: base.Header{"WWW-Authenticate": base.HeaderValue{
			fmt.Sprintf(`Digest realm="%s", nonce="%s", stale=FALSE`, s.cfg.Realm, nonce)}},
	}
	v, ok := req.Header["Authorization"]
	if !ok {
		return challenge, false
	}
	var h headers.Authorization
	if err := h.Unmarshal(v); err != nil || h.Method != headers.AuthMethodDigest || h.Realm != s.cfg.Realm || h.Nonce != nonce {
		return challenge, false
	}
	pass, ok := s.cfg.Credentials(h.Username)
	if !ok {
		return challenge, false
	}
	ha1 := md5hex(h.Username + ":" + s.cfg.Realm + ":" + pass)
	ha2 := md5hex(string(req.Method) + ":" + h.URI)
	want := md5hex(ha1 + ":" + nonce + ":" + ha2)
	if subtle.ConstantTimeCompare([]byte(want), []byte(h.Response)) != 1 {
		return challenge, false
	}
	return nil, true
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// handler is the gortsplib callback side of Server.
type handler Server

func (h *handler) srv() *Server { return (*Server)(h) }

// serve checks DESCRIBE and SETUP alike: the one path, authenticated, with valid
// arguments. A nil response means go on with spec.
func (s *Server) serve(path, query string, req *base.Request) (*base.Response, Spec) {
	if path != StreamPath {
		return &base.Response{StatusCode: base.StatusNotFound}, Spec{}
	}
	if res, ok := s.authorize(req); !ok {
		return res, Spec{}
	}
	spec := DefaultSpec
	if s.cfg.Resolve != nil {
		var err error
		if spec, err = s.cfg.Resolve(query); err != nil {
			s.log.Debug("rtsp arguments refused", "query", query, "err", err)
			return &base.Response{StatusCode: base.StatusBadRequest}, Spec{}
		}
	}
	return nil, spec
}

var unavailable = &base.Response{StatusCode: base.StatusServiceUnavailable}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s := h.srv()
	if id := recordingID(ctx.Query); id != "" && ctx.Path == StreamPath {
		if res, ok := s.authorize(ctx.Request); !ok {
			return res, nil, nil
		}
		res, err := s.describePlayback(id)
		return res, nil, err
	}
	res, spec := s.serve(ctx.Path, ctx.Query, ctx.Request)
	if res != nil {
		return res, nil, nil
	}
	st, err := s.describeStream(spec)
	if err != nil {
		s.log.Warn("rtsp stream", "spec", spec, "err", err)
		return unavailable, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st.gs, nil
}

// OnSetup gives each session a stream of its own, made at its first SETUP.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s := h.srv()
	if id := recordingID(ctx.Query); id != "" && ctx.Path == StreamPath {
		if res, ok := s.authorize(ctx.Request); !ok {
			return res, nil, nil
		}
		return s.setupPlayback(ctx.Session, id)
	}
	res, spec := s.serve(ctx.Path, ctx.Query, ctx.Request)
	if res != nil {
		return res, nil, nil
	}
	s.mu.Lock()
	st, ok := s.bySession[ctx.Session]
	s.mu.Unlock()
	if ok {
		if st.spec != spec {
			// One session plays one stream: every SETUP of it must name the same arguments.
			return &base.Response{StatusCode: base.StatusBadRequest}, nil, nil
		}
		return &base.Response{StatusCode: base.StatusOK}, st.gs, nil
	}
	st, err := s.newStream(spec)
	if err != nil {
		s.log.Warn("rtsp stream", "spec", spec, "err", err)
		return unavailable, nil, nil
	}
	s.mu.Lock()
	if s.rtsp == nil {
		s.mu.Unlock()
		st.close()
		return unavailable, nil, nil
	}
	s.bySession[ctx.Session] = st
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, st.gs, nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s := h.srv()
	if res, ok := s.playPlayback(ctx.Session); ok {
		if s.cfg.OnPlay != nil {
			s.cfg.OnPlay()
		}
		return res, nil
	}
	s.mu.Lock()
	st := s.bySession[ctx.Session]
	if st == nil || st.closed.Load() {
		s.mu.Unlock()
		return &base.Response{StatusCode: base.StatusSessionNotFound}, nil
	}
	first := !s.playing[ctx.Session]
	s.playing[ctx.Session] = true
	set := map[*description.Media]bool{}
	for _, m := range ctx.Session.Medias() {
		set[m] = true
	}
	// Packets reach this session only once its PLAY is answered (gortsplib makes the reader
	// active just before): players and the event feed start then (OnResponse), so that the
	// first frame a viewer gets is a whole key frame.
	s.pending[ctx.Conn] = pendingPlay{ss: ctx.Session, subscribe: first, feed: st.meta != nil && set[st.meta] && s.feeds[ctx.Session] == nil}
	s.mu.Unlock()
	if set[st.back] && s.cfg.OnBackchannel != nil {
		count := s.cfg.OnBackchannel
		ctx.Session.OnPacketRTP(st.back, st.back.Formats[0], func(pkt *rtp.Packet) { count(len(pkt.Payload)) })
	}
	if s.cfg.OnPlay != nil {
		s.cfg.OnPlay()
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// pendingPlay is a PLAY being answered: what to start once it is.
type pendingPlay struct {
	ss        *gortsplib.ServerSession
	subscribe bool // the session's first PLAY: join the players
	feed      bool // start the event feed
}

// OnResponse starts a session's media and event feed once its PLAY has been answered.
func (h *handler) OnResponse(sc *gortsplib.ServerConn, res *base.Response) {
	s := h.srv()
	s.mu.Lock()
	p, ok := s.pending[sc]
	delete(s.pending, sc)
	ss := p.ss
	st := s.bySession[ss]
	if !ok || st == nil || res.StatusCode != base.StatusOK {
		s.mu.Unlock()
		return
	}
	if p.subscribe {
		s.mu.Unlock()
		if st.video != nil {
			s.src.subscribeVideo(st.clip, st)
		}
		if st.audio != nil {
			s.src.subscribeAudio(st)
		}
		s.mu.Lock()
		if s.bySession[ss] != st {
			// The session closed meanwhile, maybe before the subscription: undo it.
			s.mu.Unlock()
			if st.video != nil {
				s.src.unsubscribeVideo(st.clip.Key, st)
			}
			if st.audio != nil {
				s.src.unsubscribeAudio(st)
			}
			return
		}
	}
	if !p.feed || s.feeds[ss] != nil {
		s.mu.Unlock()
		return
	}
	if s.cfg.Events == nil {
		s.feeds[ss] = func() {}
		s.mu.Unlock()
		return
	}
	initial, updates, cancel := s.cfg.Events()
	s.feeds[ss] = cancel
	s.mu.Unlock()
	go st.feed(ss, initial, updates)
}

// feed writes one session's events on its metadata track, each document as the payload of
// one RTP timestamp (cut into packets of at most 1,400 bytes, marker on the last).
func (st *stream) feed(ss *gortsplib.ServerSession, initial [][]byte, updates <-chan []byte) {
	var seq uint16
	var b [2]byte
	_, _ = rand.Read(b[:])
	seq = uint16(b[0])<<8 | uint16(b[1])
	write := func(doc []byte) {
		ts := uint32(time.Now().UnixNano() / 1e5 * 9) // 90 kHz
		for len(doc) > 0 {
			n := min(len(doc), 1400)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 98, SequenceNumber: seq, Timestamp: ts, Marker: n == len(doc)}, Payload: doc[:n]}
			seq++
			doc = doc[n:]
			if st.closed.Load() {
				return
			}
			_ = ss.WritePacketRTP(st.meta, p)
		}
	}
	for _, d := range initial {
		write(d)
	}
	for d := range updates {
		write(d)
	}
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.srv()
	s.closePlayback(ctx.Session)
	s.mu.Lock()
	st := s.bySession[ctx.Session]
	delete(s.bySession, ctx.Session)
	delete(s.playing, ctx.Session)
	cancel := s.feeds[ctx.Session]
	delete(s.feeds, ctx.Session)
	for c, p := range s.pending {
		if p.ss == ctx.Session {
			delete(s.pending, c)
		}
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if st != nil {
		st.close()
	}
}
