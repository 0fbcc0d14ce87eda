// Package live serves the relay's WHEP requests on the agent link (linkapi.WHEPPrefix):
// it answers a viewer's SDP offer for one of the agent's cameras with the agent's
// WebRTC publisher (package webrtc), keeps the sessions it started, takes their trickled
// ICE candidates and ends them. A viewer may also steer a PTZ camera over a data channel
// of its session (ptz.go), when the relay names it an operator or admin.
//
// The cameras' streams are found with the same devices and credentials EdgeLink egress
// uses (the agent's own account on each camera, from the fleet): the RTSP port is read
// from the camera's parameters (Network.RTSP.Port), and the stream is
// rtsp://host:port/axis-media/media.amp with H.264 video and the stream profile asked for.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"
	"github.com/spf13/pflag"

	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/webrtc"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// DefaultMaxSessions bounds the live sessions of one agent: each is an SRTP stream of the
// camera's bit rate (a few Mbit/s) from the agent's uplink.
const DefaultMaxSessions = 100

// Limits of the signaling.
const (
	maxSDP       = 64 << 10         // an offer or a trickle fragment
	watchTimeout = 20 * time.Second // to the answer: the camera's stream description and ICE gathering
)

// Config configures a Service.
type Config struct {
	Devices egress.Devices // required: the agent's devices (fleet), as EdgeLink reaches them
	// MaxSessions bounds the sessions served at once (DefaultMaxSessions when zero).
	MaxSessions int
	// SettingEngine is the base of the peer connections' settings (ICE interfaces,
	// ports); zero value: every interface.
	SettingEngine pwebrtc.SettingEngine
	// Grace is how long a camera's pull outlives its last viewer (webrtc.DefaultGrace
	// when zero).
	Grace time.Duration
	// NoKeyframeCache: see webrtc.Config (benchmarks only).
	NoKeyframeCache bool
	// DialControl, when set, vets each connection to a camera's VAPIX (the networks
	// cameras may be at).
	DialControl func(network, address string, c syscall.RawConn) error
	Logger      *slog.Logger // default: discarded
}

// Flags are the agent's live video flags, shared by the edge host and the device host.
type Flags struct {
	LoopbackOnly    bool
	MaxSessions     int
	Grace           time.Duration
	NoKeyframeCache bool // hidden: the first-frame benchmark's baseline
}

// AddFlags adds the live video flags.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.LoopbackOnly, "webrtc-loopback-only", false, "offer live video ICE candidates on 127.0.0.1 only (tests, or viewers on this host); default: every interface")
	fs.IntVar(&f.MaxSessions, "webrtc-max-sessions", DefaultMaxSessions, "live video sessions served at once; more are refused with 503 live-sessions-full")
	fs.DurationVar(&f.Grace, "webrtc-grace", webrtc.DefaultGrace, "how long a camera's stream stays pulled after its last live viewer left (a reload then starts at once)")
	fs.BoolVar(&f.NoKeyframeCache, "webrtc-no-keyframe-cache", false, "new viewers wait for the camera's next key frame (benchmark baseline)")
	_ = fs.MarkHidden("webrtc-no-keyframe-cache")
}

// Config makes a Config for devices from the flags.
func (f *Flags) Config(devices egress.Devices, log *slog.Logger) Config {
	cfg := Config{Devices: devices, MaxSessions: f.MaxSessions, Grace: f.Grace, NoKeyframeCache: f.NoKeyframeCache, Logger: log}
	if f.LoopbackOnly {
		cfg.SettingEngine = webrtc.LoopbackOnly()
	}
	return cfg
}

// Service is the agent's live video: an http.Handler for linkapi.WHEPPrefix; Close
// ends every session.
type Service struct {
	cfg Config
	pub *webrtc.Publisher
	log *slog.Logger
	mux *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
	starting int // offers being answered, counted against MaxSessions
	closed   bool
	wg       sync.WaitGroup // each session's end watcher
}

type session struct {
	id, serial, principal string
	s                     *webrtc.Session
	ptz                   *ptzControl
}

// New makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Devices == nil {
		return nil, errors.New("live: Config.Devices is required")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sv := &Service{cfg: cfg, log: cfg.Logger, sessions: map[string]*session{}, mux: http.NewServeMux()}
	src := &source{devices: cfg.Devices, dial: cfg.DialControl}
	sv.pub = webrtc.New(webrtc.Config{Source: src, Grace: cfg.Grace, SettingEngine: cfg.SettingEngine, Logger: cfg.Logger, NoKeyframeCache: cfg.NoKeyframeCache})
	sv.mux.HandleFunc("POST "+linkapi.WHEPPrefix+"{serial}", sv.offer)
	sv.mux.HandleFunc("PATCH "+linkapi.WHEPPrefix+"{serial}/{session}", sv.trickle)
	sv.mux.HandleFunc("DELETE "+linkapi.WHEPPrefix+"{serial}/{session}", sv.end)
	return sv, nil
}

// ServeHTTP serves the WHEP requests of the relay.
func (sv *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { sv.mux.ServeHTTP(w, r) }

// Sessions is the number of live sessions.
func (sv *Service) Sessions() int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return len(sv.sessions)
}

// Close ends every session and stops pulling the cameras.
func (sv *Service) Close() error {
	sv.mu.Lock()
	sv.closed = true
	sv.mu.Unlock()
	err := sv.pub.Close()
	sv.wg.Wait()
	return err
}

// offer answers POST {serial}: a viewer's SDP offer.
func (sv *Service) offer(w http.ResponseWriter, r *http.Request) {
	serial := strings.ToUpper(r.PathValue("serial"))
	profile := r.URL.Query().Get("profile")
	if !linkapi.ValidStreamProfile(profile) {
		problem.Write(w, r, problem.Invalid("profile", "a stream profile name: up to 64 letters, digits, '-', '_' or '.'"))
		return
	}
	if !mediaType(r, "application/sdp") {
		problem.Write(w, r, problem.New(problem.UnsupportedMediaType, "a WHEP offer is application/sdp"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDP))
	if err != nil {
		problem.Write(w, r, problem.Newf(problem.BadSDP, "the offer could not be read (at most %d bytes)", maxSDP))
		return
	}
	if _, ok := sv.cfg.Devices.Target(serial); !ok {
		problem.Write(w, r, problem.Newf(problem.DeviceUnknown, "device %s is not managed by this agent", serial))
		return
	}
	if !sv.reserve() {
		w.Header().Set("Retry-After", "10")
		problem.Write(w, r, problem.Newf(problem.LiveSessionsFull, "this agent already serves %d live sessions; try again later", sv.cfg.MaxSessions))
		return
	}
	// PTZ is for operators and admins, as the relay names the caller's role: the relay
	// sets the header itself on every request over the link, never the browser.
	role := r.Header.Get(linkapi.RoleHeader)
	ptz := newPTZControl(serial, role == "operator" || role == "admin", sv.cfg.Devices, sv.cfg.DialControl, sv.log)
	ctx, cancel := context.WithTimeout(r.Context(), watchTimeout)
	answer, s, err := sv.pub.WatchChannels(ctx, serial, profile, string(body), ptz.channel)
	cancel()
	if err != nil {
		ptz.close()
		sv.unreserve()
		sv.log.Warn("live session refused", "serial", serial, "profile", profile, "err", err)
		problem.Write(w, r, watchProblem(serial, err))
		return
	}
	id := newID()
	if !sv.adopt(&session{id: id, serial: serial, principal: r.Header.Get(linkapi.PrincipalHeader), s: s, ptz: ptz}) {
		_ = s.Close()
		ptz.close()
		problem.Write(w, r, problem.New(problem.Unavailable, "the agent is stopping"))
		return
	}
	sv.log.Info("live session started", "serial", serial, "profile", profile, "session", id, "principal", r.Header.Get(linkapi.PrincipalHeader))
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set(linkapi.WHEPSessionHeader, id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// watchProblem is the problem answer for a failed Watch.
func watchProblem(serial string, err error) *problem.Problem {
	// Details are for people and carry no Go error text (the agent's log has it).
	switch {
	case errors.Is(err, webrtc.ErrBadOffer):
		return problem.New(problem.BadSDP, "the offer is not SDP this agent can answer: it needs a video section that receives H.264 (packetization-mode 1)")
	case errors.Is(err, webrtc.ErrClosed):
		return problem.New(problem.Unavailable, "the agent is stopping")
	case errors.Is(err, webrtc.ErrNoVideo):
		return problem.Newf(problem.StreamUnavailable, "camera %s sends no H.264 video in this stream profile", serial)
	}
	return problem.Newf(problem.StreamUnavailable, "the stream of camera %s could not be pulled (unreachable, refused or too slow to start); the agent's log has the cause", serial)
}

// reserve counts an offer being answered against MaxSessions; false: full.
func (sv *Service) reserve() bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if len(sv.sessions)+sv.starting >= sv.cfg.MaxSessions {
		return false
	}
	sv.starting++
	return true
}

func (sv *Service) unreserve() {
	sv.mu.Lock()
	sv.starting--
	sv.mu.Unlock()
}

// adopt turns a reservation into a session and watches for its end (the viewer's peer
// connection closed or failed, DELETE, or Close). False: the service is closing.
func (sv *Service) adopt(ss *session) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.starting--
	if sv.closed {
		return false
	}
	sv.sessions[ss.id] = ss
	sv.wg.Go(func() {
		<-ss.s.Done()
		ss.ptz.close()
		sv.mu.Lock()
		delete(sv.sessions, ss.id)
		sv.mu.Unlock()
		sv.log.Info("live session ended", "serial", ss.serial, "session", ss.id)
	})
	return true
}

// lookup finds the caller's session of a device; nil answers 404.
func (sv *Service) lookup(w http.ResponseWriter, r *http.Request) *session {
	sv.mu.Lock()
	ss := sv.sessions[r.PathValue("session")]
	sv.mu.Unlock()
	if ss == nil || ss.serial != strings.ToUpper(r.PathValue("serial")) || ss.principal != r.Header.Get(linkapi.PrincipalHeader) {
		problem.Write(w, r, problem.New(problem.NotFound, "no such live session (it ended, or it is not yours)"))
		return nil
	}
	return ss
}

// end answers DELETE {serial}/{session}.
func (sv *Service) end(w http.ResponseWriter, r *http.Request) {
	ss := sv.lookup(w, r)
	if ss == nil {
		return
	}
	_ = ss.s.Close()
	w.WriteHeader(http.StatusNoContent)
}

// trickle answers PATCH {serial}/{session}: the viewer's ICE candidates (RFC 8840 SDP
// fragment). An ICE restart (other credentials than the offer's) is not supported: 422,
// as RFC 9725 asks of a resource that supports trickle ICE but not restarts.
func (sv *Service) trickle(w http.ResponseWriter, r *http.Request) {
	ss := sv.lookup(w, r)
	if ss == nil {
		return
	}
	if !mediaType(r, "application/trickle-ice-sdpfrag") {
		problem.Write(w, r, problem.New(problem.UnsupportedMediaType, "trickle ICE is application/trickle-ice-sdpfrag"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDP))
	if err != nil {
		problem.Write(w, r, problem.Newf(problem.BadSDP, "the fragment could not be read (at most %d bytes)", maxSDP))
		return
	}
	frag, err := ParseFragment(string(body))
	if err != nil {
		problem.Write(w, r, problem.New(problem.BadSDP, "the body is not an SDP fragment"))
		return
	}
	ufrag, pwd := ss.s.RemoteICE()
	if (frag.Ufrag != "" && frag.Ufrag != ufrag) || (frag.Pwd != "" && frag.Pwd != pwd) {
		problem.Write(w, r, problem.New(problem.ICERestartUnsupported, "the fragment's ICE credentials are not the offer's: start a new session instead of restarting ICE"))
		return
	}
	for _, c := range frag.Candidates {
		if err := ss.s.AddCandidate(c.Candidate, c.Mid); err != nil {
			problem.Write(w, r, problem.Newf(problem.BadSDP, "candidate %.80q is not one this agent can use", c.Candidate))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// Candidate is one trickled ICE candidate and its media section.
type Candidate struct {
	Candidate string // "candidate:..."
	Mid       string
}

// Fragment is an RFC 8840 SDP fragment.
type Fragment struct {
	Ufrag, Pwd string
	Candidates []Candidate
	End        bool // a=end-of-candidates
}

// ParseFragment reads the lines of an SDP fragment that matter to trickle ICE: ICE
// credentials, media sections' a=mid and their a=candidate lines. Other lines are
// ignored; a line that is not "x=value" is an error.
func ParseFragment(s string) (Fragment, error) {
	var f Fragment
	mid := ""
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return Fragment{}, fmt.Errorf("not an SDP line: %.40q", line)
		}
		attr, ok := strings.CutPrefix(line, "a=")
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(attr, ":")
		switch name {
		case "ice-ufrag":
			f.Ufrag = value
		case "ice-pwd":
			f.Pwd = value
		case "mid":
			mid = value
		case "candidate":
			f.Candidates = append(f.Candidates, Candidate{Candidate: attr, Mid: mid})
		case "end-of-candidates":
			f.End = true
		}
	}
	return f, nil
}

// mediaType reports whether the request's Content-Type is want (parameters aside).
func mediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// newID is a session ID: 128 random bits, unguessable.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// source resolves a camera to its RTSP stream with the agent's account on it.
type source struct {
	devices egress.Devices
	dial    func(network, address string, c syscall.RawConn) error
}

// Endpoint implements webrtc.Source.
func (s *source) Endpoint(ctx context.Context, camera, profile string) (webrtc.Endpoint, error) {
	t, ok := s.devices.Target(camera)
	if !ok {
		return webrtc.Endpoint{}, fmt.Errorf("live: device %s is not managed by this agent", camera)
	}
	host, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return webrtc.Endpoint{}, fmt.Errorf("live: device %s address %q: %w", camera, t.Addr, err)
	}
	port, err := s.rtspPort(ctx, t)
	if err != nil {
		return webrtc.Endpoint{}, fmt.Errorf("live: device %s RTSP port: %w", camera, err)
	}
	q := url.Values{"videocodec": {"h264"}}
	if profile != "" {
		q.Set("streamprofile", profile)
	}
	u := url.URL{Scheme: "rtsp", Host: net.JoinHostPort(host, port), Path: "/axis-media/media.amp", RawQuery: q.Encode()}
	return webrtc.Endpoint{URL: u.String(), Username: t.User, Password: t.Password}, nil
}

// rtspPort is the camera's RTSP port (Network.RTSP.Port, 554 when it does not say), read
// with the agent's account each time a pull starts: it is one request, and a changed
// port is then never stale.
func (s *source) rtspPort(ctx context.Context, t egress.Target) (string, error) {
	c, err := vapix.New(vapix.Config{BaseURL: "http://" + t.Addr, User: t.User, Password: t.Password, Timeout: 10 * time.Second, DialControl: s.dial})
	if err != nil {
		return "", err
	}
	defer c.CloseIdleConnections()
	params, err := c.ParamMap(ctx, "Network.RTSP.Port")
	if err != nil {
		return "", err
	}
	for _, k := range []string{"Network.RTSP.Port", "root.Network.RTSP.Port"} {
		if v := params[k]; v != "" {
			return v, nil
		}
	}
	return "554", nil
}
