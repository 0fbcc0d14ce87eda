package media

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/pion/rtp"
)

// StreamPath is where Axis cameras serve live video (vapix.md section 15).
const StreamPath = "/axis-media/media.amp"

// ServerConfig configures one camera's RTSP server. Zero values are documented per field.
type ServerConfig struct {
	// Listen is the TCP address (default 127.0.0.1:0). After the first Start the resolved
	// address is kept, so a restarted server comes back on the same port.
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
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// Server is one camera's RTSP server: DESCRIBE, SETUP and PLAY of the shared clip over
// TCP (RTP interleaved). Clients that ask for UDP first are refused that transport and
// fall back to TCP, as ffmpeg does by itself.
type Server struct {
	src *Source
	cfg ServerConfig
	log *slog.Logger

	readers atomic.Int32 // sessions playing now

	mu      sync.Mutex
	addr    string
	rtsp    *gortsplib.Server
	stream  *gortsplib.ServerStream
	media   *description.Media
	nonce   string
	playing map[*gortsplib.ServerSession]bool
	// playbacks are the sessions playing a recording (playback.go).
	playbacks map[*gortsplib.ServerSession]*playback
}

// NewServer prepares a server playing src; it listens on Start.
func NewServer(src *Source, cfg ServerConfig) *Server {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{src: src, cfg: cfg, log: cfg.Logger, addr: cfg.Listen}
}

// Start listens and serves. It may be called again after Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtsp != nil {
		return errors.New("media: server already started")
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	s.nonce = hex.EncodeToString(nb[:])
	s.playing = map[*gortsplib.ServerSession]bool{}
	srv := &gortsplib.Server{Handler: (*handler)(s), RTSPAddress: s.addr}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("media: rtsp listen %s: %w", s.addr, err)
	}
	s.addr = srv.NetListener().Addr().String()
	s.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{s.src.clip.Format()}}
	stream := &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{s.media}}}
	if err := stream.Initialize(); err != nil {
		srv.Close()
		return fmt.Errorf("media: stream: %w", err)
	}
	s.rtsp, s.stream = srv, stream
	s.src.add(s)
	return nil
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

// URL is the stream's rtsp:// URL.
func (s *Server) URL() string { return "rtsp://" + s.Addr() + StreamPath }

// Close stops serving and drops every session; Start brings the server back.
func (s *Server) Close() {
	s.src.remove(s)
	s.mu.Lock()
	srv, stream := s.rtsp, s.stream
	s.rtsp, s.stream = nil, nil
	playbacks := s.playbacks
	s.playbacks = nil
	s.mu.Unlock()
	for _, p := range playbacks {
		p.close()
	}
	if stream != nil {
		stream.Close()
	}
	if srv != nil {
		srv.Close()
	}
	s.readers.Store(0)
}

func (s *Server) writeFrame(frame []*rtp.Packet, seq uint16, ts uint32) {
	s.mu.Lock()
	stream, media := s.stream, s.media
	s.mu.Unlock()
	if stream == nil {
		return
	}
	for i, pkt := range frame {
		// The stream stamps its own SSRC into the packet: each server gets a copy of
		// the header, the payload stays shared.
		p := *pkt
		p.SequenceNumber = seq + uint16(i)
		p.Timestamp = ts
		if err := stream.WritePacketRTP(media, &p); err != nil {
			return
		}
	}
}

// authorize checks RTSP Digest credentials the Axis way: realm AXIS_<SERIAL>, no qop,
// response = MD5(HA1:nonce:HA2) (RFC 2069; vapix.md 1.4).
func (s *Server) authorize(req *base.Request) (*base.Response, bool) {
	if s.cfg.Credentials == nil {
		return nil, true
	}
	challenge := &base.Response{
		StatusCode: base.StatusUnauthorized,
		Header: base.Header{"WWW-Authenticate": base.HeaderValue{
			fmt.Sprintf(`Digest realm="%s", nonce="%s", stale=FALSE`, s.cfg.Realm, s.nonce)}},
	}
	v, ok := req.Header["Authorization"]
	if !ok {
		return challenge, false
	}
	var h headers.Authorization
	if err := h.Unmarshal(v); err != nil || h.Method != headers.AuthMethodDigest || h.Realm != s.cfg.Realm || h.Nonce != s.nonce {
		return challenge, false
	}
	pass, ok := s.cfg.Credentials(h.Username)
	if !ok {
		return challenge, false
	}
	ha1 := md5hex(h.Username + ":" + s.cfg.Realm + ":" + pass)
	ha2 := md5hex(string(req.Method) + ":" + h.URI)
	want := md5hex(ha1 + ":" + s.nonce + ":" + ha2)
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

// serve answers DESCRIBE and SETUP alike: the one path, authenticated, while serving.
func (s *Server) serve(path string, req *base.Request) (*base.Response, *gortsplib.ServerStream, error) {
	if path != StreamPath {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	if res, ok := s.authorize(req); !ok {
		return res, nil, nil
	}
	s.mu.Lock()
	stream := s.stream
	s.mu.Unlock()
	if stream == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, stream, nil
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if id := recordingID(ctx.Query); id != "" && ctx.Path == StreamPath {
		if res, ok := h.srv().authorize(ctx.Request); !ok {
			return res, nil, nil
		}
		res, err := h.srv().describePlayback(id)
		return res, nil, err
	}
	return h.srv().serve(ctx.Path, ctx.Request)
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if id := recordingID(ctx.Query); id != "" && ctx.Path == StreamPath {
		if res, ok := h.srv().authorize(ctx.Request); !ok {
			return res, nil, nil
		}
		return h.srv().setupPlayback(ctx.Session, id)
	}
	return h.srv().serve(ctx.Path, ctx.Request)
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
	if !s.playing[ctx.Session] {
		s.playing[ctx.Session] = true
		s.readers.Add(1)
	}
	s.mu.Unlock()
	if s.cfg.OnPlay != nil {
		s.cfg.OnPlay()
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.srv()
	s.closePlayback(ctx.Session)
	s.mu.Lock()
	if s.playing[ctx.Session] {
		delete(s.playing, ctx.Session)
		s.readers.Add(-1)
	}
	s.mu.Unlock()
}
