package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"
	"unicode"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// PTZ over a live session: the viewer opens a data channel labelled PTZLabel on its peer
// connection and sends JSON messages (PTZMessage), each answered on the channel, in order,
// with {"ok":true} or {"ok":false,"error":"..."}. The agent moves the camera with its own
// account on it (VAPIX com/ptz.cgi), for callers the relay names operator or admin.
const (
	// PTZLabel is the data channel label of PTZ commands.
	PTZLabel = "ptz"
	// MaxPTZMessage bounds one PTZ message (bytes).
	MaxPTZMessage = 1024
	// MaxPTZInFlight bounds a session's PTZ commands queued or being sent to the camera;
	// more are refused at once.
	MaxPTZInFlight = 8
	// maxPresetName bounds a preset name (VAPIX's own limit is about 31 characters).
	maxPresetName = 64
	// ptzCallTimeout bounds one ptz.cgi request.
	ptzCallTimeout = 5 * time.Second
)

// PTZ operations.
const (
	PTZMove   = "move"   // continuous move at Pan, Tilt, Zoom (-1..1 of full speed)
	PTZStop   = "stop"   // stop any continuous move
	PTZPreset = "preset" // go to the preset position Name
)

// PTZMessage is one PTZ command from a viewer.
type PTZMessage struct {
	Op   string   `json:"op"`
	Pan  *float64 `json:"pan,omitempty"`
	Tilt *float64 `json:"tilt,omitempty"`
	Zoom *float64 `json:"zoom,omitempty"`
	Name string   `json:"name,omitempty"`
}

// ptzReply is the answer to one message.
type ptzReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ParsePTZMessage reads and checks one PTZ message: at most MaxPTZMessage bytes, one JSON
// object with no other fields, a known op, speeds within -1..1 (absent is 0), and a
// preset name of printable characters.
func ParsePTZMessage(b []byte) (PTZMessage, error) {
	if len(b) > MaxPTZMessage {
		return PTZMessage{}, fmt.Errorf("a PTZ message is at most %d bytes", MaxPTZMessage)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m PTZMessage
	if err := dec.Decode(&m); err != nil {
		return PTZMessage{}, errors.New(`a PTZ message is a JSON object: {"op":"move","pan":0,"tilt":0,"zoom":0}, {"op":"stop"} or {"op":"preset","name":"..."}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return PTZMessage{}, errors.New("a PTZ message is one JSON object")
	}
	switch m.Op {
	case PTZMove:
		if m.Name != "" {
			return PTZMessage{}, errors.New("move takes pan, tilt and zoom, not name")
		}
		for _, v := range []struct {
			name string
			v    *float64
		}{{"pan", m.Pan}, {"tilt", m.Tilt}, {"zoom", m.Zoom}} {
			if v.v != nil && !(*v.v >= -1 && *v.v <= 1) {
				return PTZMessage{}, fmt.Errorf("%s is a speed from -1 to 1", v.name)
			}
		}
	case PTZStop:
		if m.Pan != nil || m.Tilt != nil || m.Zoom != nil || m.Name != "" {
			return PTZMessage{}, errors.New("stop takes nothing else")
		}
	case PTZPreset:
		if m.Pan != nil || m.Tilt != nil || m.Zoom != nil {
			return PTZMessage{}, errors.New("preset takes name only")
		}
		if !validPresetName(m.Name) {
			return PTZMessage{}, fmt.Errorf("preset name: 1 to %d printable characters", maxPresetName)
		}
	default:
		return PTZMessage{}, errors.New(`op is "move", "stop" or "preset"`)
	}
	return m, nil
}

func validPresetName(s string) bool {
	if s == "" || len(s) > maxPresetName {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// command is the ptz.cgi request of a checked message.
func (m PTZMessage) command() vapix.PTZCommand {
	f := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p * 100
	}
	switch m.Op {
	case PTZMove:
		return vapix.PTZCommand{Camera: 1, ContinuousPanTilt: &[2]float64{f(m.Pan), f(m.Tilt)}, ContinuousZoom: vapix.Float(f(m.Zoom))}
	case PTZPreset:
		return vapix.PTZCommand{Camera: 1, GotoPresetName: m.Name}
	}
	// Stop: both continuous moves at speed 0 (move=stop stops pan and tilt only on
	// some models).
	return vapix.PTZCommand{Camera: 1, ContinuousPanTilt: &[2]float64{0, 0}, ContinuousZoom: vapix.Float(0)}
}

// moves reports whether the command leaves the camera moving.
func (m PTZMessage) moves() bool {
	nz := func(p *float64) bool { return p != nil && *p != 0 }
	return m.Op == PTZMove && (nz(m.Pan) || nz(m.Tilt) || nz(m.Zoom))
}

// Errors sent to the viewer: fixed texts, the agent's log has the causes.
const (
	errPTZRole    = "PTZ needs the operator role or higher"
	errPTZBusy    = "too many PTZ commands in flight; wait for the answers"
	errPTZNone    = "this camera has no PTZ"
	errPTZCamera  = "the camera refused the PTZ command or did not answer; the agent's log has the cause"
	errPTZPreset  = "the camera has no preset of that name, or refused to go to it"
	errPTZStopped = "the live session ended"
)

// ptzControl serves the PTZ channels of one live session: one worker sends the commands
// to the camera in the order they came (a stop is never overtaken by the move before
// it), from a bounded queue. close ends the worker and stops a move still going.
type ptzControl struct {
	serial  string
	allowed bool // the caller may use PTZ (operator or admin)
	devices egress.Devices
	dial    func(network, address string, c syscall.RawConn) error
	log     *slog.Logger

	queue  chan ptzJob
	slots  chan struct{} // one per command queued or being sent, MaxPTZInFlight in all
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	closed bool

	// Worker state.
	client *vapix.Client
	hasPTZ *bool // known after the first command
	moving bool
}

type ptzJob struct {
	dc  *pwebrtc.DataChannel
	msg PTZMessage
}

func newPTZControl(serial string, allowed bool, devices egress.Devices, dial func(network, address string, c syscall.RawConn) error, log *slog.Logger) *ptzControl {
	ctx, cancel := context.WithCancel(context.Background())
	c := &ptzControl{serial: serial, allowed: allowed, devices: devices, dial: dial, log: log,
		queue: make(chan ptzJob, MaxPTZInFlight), slots: make(chan struct{}, MaxPTZInFlight), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go c.run()
	return c
}

// channel takes a data channel the viewer opened: PTZLabel's messages are commands,
// other labels are not served here and are closed.
func (c *ptzControl) channel(dc *pwebrtc.DataChannel) {
	if dc.Label() != PTZLabel {
		_ = dc.Close()
		return
	}
	// Messages come on pion's goroutine, one at a time; none blocks it.
	dc.OnMessage(func(m pwebrtc.DataChannelMessage) {
		if !c.allowed {
			reply(dc, errors.New(errPTZRole))
			return
		}
		msg, err := ParsePTZMessage(m.Data)
		if err != nil {
			reply(dc, err)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			reply(dc, errors.New(errPTZStopped))
			return
		}
		select {
		case c.slots <- struct{}{}:
			c.queue <- ptzJob{dc: dc, msg: msg} // never blocks: the queue has a place for every slot
		default:
			reply(dc, errors.New(errPTZBusy))
		}
	})
}

// reply answers a message: ok when err is nil.
func reply(dc *pwebrtc.DataChannel, err error) {
	r := ptzReply{OK: err == nil}
	if err != nil {
		r.Error = err.Error()
	}
	b, _ := json.Marshal(r)
	_ = dc.SendText(string(b))
}

// run sends the queued commands until close.
func (c *ptzControl) run() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case j := <-c.queue:
			err := c.send(c.ctx, j.msg)
			<-c.slots // before the answer: a viewer who waits for it may send again at once
			reply(j.dc, err)
		}
	}
}

// send makes one command's ptz.cgi request; the error is the viewer's.
func (c *ptzControl) send(ctx context.Context, m PTZMessage) error {
	ctx, cancel := context.WithTimeout(ctx, ptzCallTimeout)
	defer cancel()
	if c.client == nil {
		t, ok := c.devices.Target(c.serial)
		if !ok {
			return errors.New(errPTZCamera)
		}
		cl, err := vapix.New(vapix.Config{BaseURL: "http://" + t.Addr, User: t.User, Password: t.Password, Timeout: ptzCallTimeout, DialControl: c.dial})
		if err != nil {
			c.log.Warn("ptz", "serial", c.serial, "err", err)
			return errors.New(errPTZCamera)
		}
		c.client = cl
	}
	if c.hasPTZ == nil {
		// A camera without PTZ answers queries with an empty body (vapix.md section 11).
		_, err := c.client.PTZLimits(ctx, 1)
		switch {
		case errors.Is(err, vapix.ErrNotFound):
			c.hasPTZ = new(false)
		case err != nil:
			c.log.Warn("ptz limits", "serial", c.serial, "err", err)
			return errors.New(errPTZCamera)
		default:
			c.hasPTZ = new(true)
		}
	}
	if !*c.hasPTZ {
		return errors.New(errPTZNone)
	}
	if m.moves() {
		// Counted as moving before the answer: a request cut short may still have
		// reached the camera.
		c.moving = true
	}
	if err := c.client.PTZ(ctx, m.command()); err != nil {
		c.log.Warn("ptz", "serial", c.serial, "op", m.Op, "err", err)
		if m.Op == PTZPreset {
			return errors.New(errPTZPreset)
		}
		return errors.New(errPTZCamera)
	}
	switch m.Op {
	case PTZMove:
		c.moving = m.moves()
	case PTZStop:
		c.moving = false
	}
	return nil
}

// close ends the worker (queued commands are dropped) and, when the camera was left
// moving, stops it: a continuous move does not outlive the session that started it.
func (c *ptzControl) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	<-c.done
	if c.moving {
		if err := c.send(context.Background(), PTZMessage{Op: PTZStop}); err != nil {
			c.log.Warn("ptz stop at the end of the live session", "serial", c.serial, "err", err)
		}
	}
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
}
