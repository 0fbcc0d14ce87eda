package webrtc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// cameraSource resolves a camsim camera's serial to its RTSP URL with the given arguments.
func cameraSource(f *camsim.Fleet, args string) Source {
	return SourceFunc(func(_ context.Context, camera, _ string) (Endpoint, error) {
		for _, c := range f.Cameras() {
			if c.Identity().Serial == camera {
				return Endpoint{URL: c.Info().RTSP + "?" + args, Username: camsimtest.User, Password: camsimtest.Password}, nil
			}
		}
		return Endpoint{}, errors.New("no such camera")
	})
}

// accessUnit is one H.264 frame as a viewer received it.
type accessUnit struct {
	nalus [][]byte
	at    time.Time
}

// testViewer is a pion peer connection receiving a camera like a browser would.
type testViewer struct {
	pc       *pwebrtc.PeerConnection
	session  *Session
	answered time.Time

	first    chan accessUnit // the first access unit received
	frames   atomic.Int64
	keys     atomic.Int64  // key frames received (packets carrying an SPS)
	ssrc     atomic.Uint32 // of the video track
	seqMu    sync.Mutex
	firstSeq uint16
	seen     map[uint16]bool // sequence numbers from firstSeq on, the first seqWindow
	readDone sync.WaitGroup
}

func newViewerPeer(tb testing.TB) *pwebrtc.PeerConnection {
	tb.Helper()
	m := &pwebrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := pwebrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		tb.Fatal(err)
	}
	api := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithInterceptorRegistry(ir), pwebrtc.WithSettingEngine(LoopbackOnly()))
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	return pc
}

// watch connects a new viewer to camera through pub and starts reading its video.
func watch(tb testing.TB, pub *Publisher, camera string) *testViewer {
	tb.Helper()
	pc := newViewerPeer(tb)
	v := &testViewer{pc: pc, first: make(chan accessUnit, 1)}
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			tb.Fatal(err)
		}
	}
	v.readDone.Add(1)
	var once sync.Once
	pc.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		if tr.Kind() != pwebrtc.RTPCodecTypeVideo {
			// Audio is read so that it does not back up; its content is not checked here.
			go func() {
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
				}
			}()
			return
		}
		once.Do(func() { go v.read(tr) })
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	answer, s, err := pub.Watch(ctx, camera, "", pc.LocalDescription().SDP)
	if err != nil {
		tb.Fatalf("Watch: %v", err)
	}
	v.answered = time.Now()
	v.session = s
	if err := pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.close)
	return v
}

// read decodes the video track into access units until the connection closes.
func (v *testViewer) read(tr *pwebrtc.TrackRemote) {
	defer v.readDone.Done()
	dec := &rtph264.Decoder{PacketizationMode: 1}
	_ = dec.Init()
	v.ssrc.Store(uint32(tr.SSRC()))
	have := false
	decoding := true
	buf := make([]byte, 1500)
	for {
		var p rtp.Packet
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		v.seqMu.Lock()
		if !have {
			v.firstSeq, v.seen, have = p.SequenceNumber, map[uint16]bool{}, true
		}
		if d := p.SequenceNumber - v.firstSeq; d < seqWindow {
			v.seen[d] = true
		}
		v.seqMu.Unlock()
		if inspectH264(p.Payload).hasParams {
			v.keys.Add(1)
		}
		if !decoding {
			// After the first frame only frames are counted, cheaply (the benchmark's
			// viewers should cost little next to the publisher).
			if p.Marker {
				v.frames.Add(1)
			}
			continue
		}
		p.Payload = append([]byte(nil), p.Payload...) // the decoder keeps fragments
		nalus, err := dec.Decode(&p)
		if err != nil {
			continue
		}
		v.frames.Add(1)
		v.first <- accessUnit{nalus: nalus, at: time.Now()}
		decoding = false
	}
}

// seqWindow is how many sequence numbers a viewer checks for gaps.
const seqWindow = 600

// received reports whether every one of the first seqWindow sequence numbers came (pion
// retransmits what a burst lost on the way, when the receiver's NACKs ask).
func (v *testViewer) received() bool {
	v.seqMu.Lock()
	defer v.seqMu.Unlock()
	return len(v.seen) == seqWindow
}

func (v *testViewer) close() {
	_ = v.session.Close()
	_ = v.pc.Close()
	v.readDone.Wait()
}

// firstFrame waits for the viewer's first access unit.
func (v *testViewer) firstFrame(tb testing.TB) accessUnit {
	tb.Helper()
	select {
	case au := <-v.first:
		return au
	case <-time.After(20 * time.Second):
		tb.Fatal("no video frame within 20 s")
		return accessUnit{}
	}
}

// nalTypes lists an access unit's NAL unit types in order.
func nalTypes(au accessUnit) []int {
	var ts []int
	for _, n := range au.nalus {
		if len(n) > 0 {
			ts = append(ts, int(n[0]&0x1f))
		}
	}
	return ts
}

// isKeyframe reports whether an access unit has SPS and PPS before an IDR slice.
func isKeyframe(au accessUnit) bool {
	sps, pps := false, false
	for _, t := range nalTypes(au) {
		switch t {
		case nalSPS:
			sps = true
		case nalPPS:
			pps = true
		case nalIDR:
			return sps && pps
		}
	}
	return false
}

func startPublisher(tb testing.TB, args string, grace time.Duration) (*Publisher, *camsim.Camera) {
	tb.Helper()
	f := camsimtest.Start(tb, 1)
	cam := f.Cameras()[0]
	pub := New(Config{Source: cameraSource(f, args), Grace: grace, SettingEngine: LoopbackOnly()})
	tb.Cleanup(func() { _ = pub.Close() })
	return pub, cam
}

// A viewer who joins in the middle of a long GOP gets a key frame at once, from the cache,
// not at the camera's next key frame.
func TestNewViewerStartsWithKeyframeMidGOP(t *testing.T) {
	// 4 s GOP at 25 fps.
	pub, cam := startPublisher(t, "resolution=1280x720&fps=25&videokeyframeinterval=100", time.Minute)
	serial := cam.Identity().Serial

	early := watch(t, pub, serial)
	if au := early.firstFrame(t); !isKeyframe(au) {
		t.Fatalf("first viewer's first frame has NAL types %v, want SPS, PPS, IDR", nalTypes(au))
	}
	// A second in, the camera's next key frame is three seconds away.
	testtool.WaitFor(t, 20*time.Second, "first viewer 1 s into the GOP", func() bool { return early.frames.Load() >= 25 })

	late := watch(t, pub, serial)
	au := late.firstFrame(t)
	if !isKeyframe(au) {
		t.Fatalf("late viewer's first frame has NAL types %v, want SPS, PPS, IDR", nalTypes(au))
	}
	if d := au.at.Sub(late.answered); d > 2*time.Second {
		t.Errorf("late viewer's first frame came %v after the answer; want well under the 4 s GOP", d)
	}
	// The cached group and the live packets make one continuous sequence.
	testtool.WaitFor(t, 20*time.Second, "late viewer receiving a continuous sequence", late.received)
	if n := cam.Counters().RTSPSessions; n != 1 {
		t.Errorf("camera saw %d RTSP sessions, want 1", n)
	}
}

// However many viewers watch a camera, the camera streams once.
func TestManyViewersOneRTSPSession(t *testing.T) {
	pub, cam := startPublisher(t, "resolution=1280x720", time.Minute)
	serial := cam.Identity().Serial
	var vs []*testViewer
	for range 20 {
		vs = append(vs, watch(t, pub, serial))
	}
	for i, v := range vs {
		if au := v.firstFrame(t); !isKeyframe(au) {
			t.Fatalf("viewer %d's first frame has NAL types %v, want SPS, PPS, IDR", i, nalTypes(au))
		}
	}
	if c := cam.Counters(); c.RTSPSessions != 1 || c.RTSPPlaying != 1 {
		t.Errorf("camera saw %d RTSP sessions (%d playing), want 1", c.RTSPSessions, c.RTSPPlaying)
	}
}

// The camera pull ends a grace period after the last viewer left, not before.
func TestPullStopsAfterGrace(t *testing.T) {
	const grace = 2 * time.Second
	pub, cam := startPublisher(t, "resolution=1280x720", grace)
	serial := cam.Identity().Serial
	v := watch(t, pub, serial)
	v.firstFrame(t)
	left := time.Now()
	v.close()
	if n := cam.Counters().RTSPPlaying; n != 1 && time.Since(left) < grace {
		t.Fatalf("camera streams %d sessions right after the last viewer left, want 1 until the grace ends", n)
	}
	testtool.WaitFor(t, 20*time.Second, "camera pull to stop", func() bool { return cam.Counters().RTSPPlaying == 0 })
	if d := time.Since(left); d < grace {
		t.Errorf("pull stopped %v after the last viewer left, before the %v grace", d, grace)
	}

	// A new viewer starts a new pull.
	v2 := watch(t, pub, serial)
	if au := v2.firstFrame(t); !isKeyframe(au) {
		t.Fatalf("new viewer's first frame has NAL types %v", nalTypes(au))
	}
	if n := cam.Counters().RTSPSessions; n != 2 {
		t.Errorf("camera saw %d RTSP sessions, want 2", n)
	}
}

// A viewer who comes back within the grace period reuses the pull.
func TestViewerWithinGraceReusesPull(t *testing.T) {
	pub, cam := startPublisher(t, "resolution=1280x720", time.Minute)
	serial := cam.Identity().Serial
	v := watch(t, pub, serial)
	v.firstFrame(t)
	v.close()
	v2 := watch(t, pub, serial)
	if au := v2.firstFrame(t); !isKeyframe(au) {
		t.Fatalf("returning viewer's first frame has NAL types %v", nalTypes(au))
	}
	if n := cam.Counters().RTSPSessions; n != 1 {
		t.Errorf("camera saw %d RTSP sessions, want 1", n)
	}
}

func TestMalformedOffer(t *testing.T) {
	pub, cam := startPublisher(t, "resolution=1280x720", time.Minute)
	serial := cam.Identity().Serial
	ctx := context.Background()

	for name, offer := range map[string]string{
		"empty":     "",
		"garbage":   "this is not SDP",
		"truncated": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
	} {
		_, s, err := pub.Watch(ctx, serial, "", offer)
		if !errors.Is(err, ErrBadOffer) {
			t.Errorf("%s offer: err = %v, want ErrBadOffer", name, err)
		}
		if s != nil {
			t.Errorf("%s offer: got a session", name)
		}
	}

	// A well-formed offer that cannot receive H.264: only audio.
	pc := newViewerPeer(t)
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(pwebrtc.RTPCodecTypeAudio, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = pub.Watch(ctx, serial, "", offer.SDP)
	if !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), "H.264") {
		t.Errorf("audio-only offer: err = %v, want ErrBadOffer about H.264", err)
	}
	// Refused offers leave no pull behind.
	testtool.WaitFor(t, 30*time.Second, "no pull without viewers", func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		return len(pub.pulls) == 0 || cam.Counters().RTSPPlaying <= 1
	})
}

func TestUnknownCamera(t *testing.T) {
	pub, _ := startPublisher(t, "", time.Minute)
	pc := newViewerPeer(t)
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = pub.Watch(context.Background(), "NOSUCHCAMERA", "", offer.SDP)
	if err == nil || !strings.Contains(err.Error(), "no such camera") {
		t.Fatalf("err = %v, want the source's error", err)
	}
}

// A viewer's picture loss indication is answered at once from the cache, not at the
// camera's next key frame.
func TestPLIAnsweredFromCache(t *testing.T) {
	// 4 s GOP at 25 fps.
	pub, cam := startPublisher(t, "resolution=1280x720&fps=25&videokeyframeinterval=100", time.Minute)
	v := watch(t, pub, cam.Identity().Serial)
	v.firstFrame(t)
	testtool.WaitFor(t, 20*time.Second, "viewer 1 s into the GOP", func() bool { return v.frames.Load() >= 25 })
	keys := v.keys.Load()
	if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc.Load()}}); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 20*time.Second, "a key frame after the PLI", func() bool { return v.keys.Load() > keys })
	// The camera's own next key frame is frame 100. The cached group resent (about 25
	// frames) brings the count to about 50 when the answer comes from the cache.
	if n := v.frames.Load(); n >= 100 {
		t.Errorf("key frame came %d frames in, no sooner than the camera's own", n)
	}
	if n := cam.Counters().RTSPSessions; n != 1 {
		t.Errorf("camera saw %d RTSP sessions, want 1", n)
	}
}

// Close while viewers are on their way in ends every session and returns: no goroutine
// is started after Close began waiting, and every Watch either answers (its session then
// ends) or fails with ErrClosed.
func TestCloseDuringWatch(t *testing.T) {
	f := camsimtest.Start(t, 1)
	serial := f.Cameras()[0].Identity().Serial
	for range 3 {
		pub := New(Config{Source: cameraSource(f, "resolution=640x360&fps=10"), Grace: time.Minute, SettingEngine: LoopbackOnly()})
		// One viewer first, so that the others join a running pull and reach the answer.
		first := watch(t, pub, serial)
		first.firstFrame(t)
		const n = 4
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			pc := newViewerPeer(t)
			if _, err := pc.AddTransceiverFromKind(pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pc.Close() })
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, s, err := pub.Watch(ctx, serial, "", offer.SDP)
				if err == nil {
					<-s.Done() // Close ends it
				}
				errs <- err
			})
		}
		if err := pub.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("Watch during Close: %v, want an answer or ErrClosed", err)
			}
		}
		select {
		case <-first.session.Done():
		default:
			t.Error("a session outlived its publisher's Close")
		}
	}
}
