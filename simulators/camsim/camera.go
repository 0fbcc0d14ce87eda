package camsim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencamcloud/camcloud/simulators/mdns"
	"github.com/opencamcloud/camcloud/simulators/media"
	"github.com/opencamcloud/camcloud/simulators/porthold"
	"github.com/opencamcloud/camcloud/simulators/ssdp"
)

// Info is how a camera is reached; camsim prints one per camera, as JSON, when it is ready.
type Info struct {
	Serial string `json:"serial"`
	Model  string `json:"model"`
	HTTP   string `json:"http"`  // base URL of VAPIX, e.g. http://127.0.0.1:8081
	RTSP   string `json:"rtsp"`  // full stream URL
	HTTPS  string `json:"https"` // base URL of VAPIX over TLS (self-signed), e.g. https://127.0.0.1:8091
	MAC    string `json:"mac"`
	OAK    string `json:"oak"`
}

// cameraConfig is what a fleet hands each of its cameras.
type cameraConfig struct {
	listen      string // HTTP listen address; its port may be 0
	rtspListen  string // RTSP listen address; its port may be 0
	httpsListen string // HTTPS listen address; its port may be 0
	source      *media.Source
	mdnsIfaces  []net.Interface // announce over mDNS on these; nil: no announcement
	ssdpIfaces  []net.Interface // answer SSDP on these; nil: no SSDP
	user        string          // the out-of-the-box admin account
	password    string
	stateDir    string // "" keeps state in memory only
	allowBasic  bool
	rebootDelay time.Duration
	minute      time.Duration // length of an autoRollback minute
	logger      *slog.Logger
}

// Camera is one simulated Axis camera. It is created and owned by a Fleet.
type Camera struct {
	id       Identity
	cfg      cameraConfig
	log      *slog.Logger
	auth     *digestAuth
	events   *eventHub
	counters counters
	faults   faultBox
	syslog   systemLog
	rtsp     *media.Server
	https    httpsSide
	sd       sdCard
	img      imageCache          // last snapshot (snapshot.go)
	ann      *mdns.Announcement  // guarded by mu
	upnp     *ssdp.Advertisement // guarded by mu
	held     *porthold.Hold      // the camera's ports while it is down; guarded by mu
	now      func() time.Time

	// clockOffset is how far the camera's clock is from the host's (time.cgi
	// setDateTime), in nanoseconds.
	clockOffset atomic.Int64

	quit chan struct{} // closed by Close: stops pending reboots and timers
	wg   sync.WaitGroup

	mu     sync.Mutex
	st     State
	bootID string
	bootAt time.Time

	// netMu guards the addresses apart from mu, so that param values can read them
	// while mu is held.
	netMu     sync.Mutex
	addr      string // resolved HTTP address, kept across reboots
	rtspAddr  string // resolved RTSP address, kept across reboots
	srv       *http.Server
	ln        net.Listener
	up        bool // answering on the network
	rebooting bool
	upgrading bool                 // an image is being received
	ptzMotion ptzMotion            // a continuous move in progress
	wsTokens  map[string]time.Time // wssession.cgi tokens and their expiry
	closed    bool
}

func newCamera(id Identity, cfg cameraConfig) (*Camera, error) {
	st, found, err := loadState(cfg.stateDir, id.Serial)
	if err != nil {
		return nil, err
	}
	if !found {
		st = defaultState(id, cfg.user, cfg.password)
	}
	c := &Camera{
		id:     id,
		cfg:    cfg,
		log:    cfg.logger.With("serial", id.Serial),
		auth:   newDigestAuth(id.Realm()),
		events: newEventHub(),
		now:    time.Now,
		quit:   make(chan struct{}),
		st:     st,
	}
	c.rtsp = media.NewServer(cfg.source, media.ServerConfig{
		Listen: cfg.rtspListen,
		Realm:  id.Realm(),
		Credentials: func(name string) (string, bool) {
			u, ok := c.lookupUser(name)
			return u.Password, ok && u.Level() >= Viewer
		},
		OnPlay:        func() { c.counters.rtspSessions.Add(1) },
		Recording:     c.playbackRecording,
		Resolve:       c.resolveStream,
		Events:        c.metadataFeed,
		OnBackchannel: func(n int) { c.counters.audioBytes.Add(int64(n)) },
		Logger:        c.log,
	})
	c.initialProperties()
	return c, nil
}

// Identity is the camera's fixed identity.
func (c *Camera) Identity() Identity { return c.id }

// Info says how to reach the camera. HTTP is empty before the fleet started.
func (c *Camera) Info() Info {
	c.netMu.Lock()
	addr, rtspAddr := c.addr, c.rtspAddr
	c.netMu.Unlock()
	info := Info{Serial: c.id.Serial, Model: c.id.Model.ProdNbr, MAC: c.id.MAC(), OAK: c.id.OAK}
	if addr != "" {
		info.HTTP = "http://" + addr
	}
	if rtspAddr != "" {
		info.RTSP = "rtsp://" + rtspAddr + "/axis-media/media.amp"
	}
	info.HTTPS = c.httpsURL()
	return info
}

// Counters returns what the camera counted so far.
func (c *Camera) Counters() Counters {
	cs := c.counters.snapshot()
	cs.RTSPPlaying = int64(c.rtsp.Playing())
	return cs
}

// Faults returns the camera's current faults.
func (c *Camera) Faults() Faults { return c.faults.get() }

// SetFaults replaces the camera's faults; they apply from the next request.
func (c *Camera) SetFaults(f Faults) { c.faults.set(f) }

// TriggerMotion emits the motion events (vapix.md 13.2) with the given state.
func (c *Camera) TriggerMotion(active bool) {
	for _, e := range motionEvents(active, c.now()) {
		c.events.publish(e)
	}
	c.storageMotion(active)
}

// Publish emits any event on the camera's event streams.
func (c *Camera) Publish(e Event) {
	if e.Timestamp.IsZero() {
		e.Timestamp = c.now()
	}
	c.events.publish(e)
}

// Up reports whether the camera is answering (not rebooting, not powered off).
func (c *Camera) Up() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up
}

// FirmwareVersion is the version the camera runs now.
func (c *Camera) FirmwareVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Firmware.Version
}

// State returns a copy of the camera's persistent state.
func (c *Camera) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneState(c.st)
}

// update changes the state under the camera's lock and saves it; when fn fails nothing
// is changed.
func (c *Camera) update(fn func(st *State) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := cloneState(c.st)
	if err := fn(&next); err != nil {
		return err
	}
	if err := saveState(c.cfg.stateDir, &next); err != nil {
		c.log.Error("save state", "err", err)
		return err
	}
	c.st = next
	return nil
}

// view reads the state under the camera's lock.
func (c *Camera) view(fn func(st *State)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.st)
}

func (c *Camera) lookupUser(name string) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range c.st.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// boot brings the camera up: applies what takes effect at boot (a pending firmware
// image), gives it a new boot ID, and starts answering on its address.
func (c *Camera) boot() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("camera closed")
	}
	next := cloneState(c.st)
	c.onBoot(&next)
	next.Boots++
	if err := saveState(c.cfg.stateDir, &next); err != nil {
		return err
	}
	c.st = next
	c.bootID = newUUID()
	c.bootAt = c.now()
	c.logf("INFO", "systemd[1]", "Startup finished; AXIS OS %s, boot %s", c.st.Firmware.Version, c.bootID)
	c.held.Release() // right before listening on them again
	c.held = nil
	c.netMu.Lock()
	addr := c.addr
	c.netMu.Unlock()
	if addr == "" {
		addr = c.cfg.listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("camera %s: HTTP %s: %w", c.id.Serial, portTaken(addr, err), err)
	}
	if err := c.rtsp.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("camera %s: RTSP %s: %w", c.id.Serial, portTaken(c.cfg.rtspListen, err), err)
	}
	if err := c.startHTTPS(); err != nil {
		ln.Close()
		c.rtsp.Close()
		return fmt.Errorf("camera %s: %w", c.id.Serial, err)
	}
	c.netMu.Lock()
	c.addr = ln.Addr().String()
	c.rtspAddr = c.rtsp.Addr()
	c.netMu.Unlock()
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelDebug),
	}
	c.srv = srv
	c.ln = ln
	c.up = true
	c.rebooting = false
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			c.log.Error("serve VAPIX", "err", err)
		}
	}()
	c.scheduleBootTimers()
	c.storageBoot()
	if c.cfg.mdnsIfaces != nil {
		host, port, _ := splitHostPort(c.addr)
		if cam, on := c.mdnsCamera(host, port); on {
			ann, err := mdns.Announce(cam, c.cfg.mdnsIfaces)
			if err != nil {
				c.log.Warn("mDNS announcement", "err", err)
			}
			c.ann = ann
		}
	}
	c.upnp = c.advertiseSSDP()
	return nil
}

// portTaken names the address a listener could not have, saying plainly when another
// process holds its port, the usual reason and the one an operator can fix.
func portTaken(addr string, err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return "port " + addr + " is already in use"
	}
	return "cannot listen on " + addr
}

// halt stops answering: the listener closes (connections are refused), open connections
// are finished or dropped, event streams end. Unless the camera is closing for good, it
// keeps its ports (porthold) until it boots again, as a real camera keeps its address.
func (c *Camera) halt() {
	c.mu.Lock()
	srv, ln, ann, upnp := c.srv, c.ln, c.ann, c.upnp
	c.srv, c.ln, c.ann, c.upnp = nil, nil, nil, nil
	c.up = false
	c.mu.Unlock()
	ann.Close() // goodbye packets: the camera leaves the network
	upnp.Close()
	if ln != nil {
		// Closed here, not only by Shutdown: Serve may not have taken the listener yet.
		_ = ln.Close()
	}
	if srv != nil {
		// Shutdown lets the answer that caused a reboot reach its client; what does not
		// finish within a second is cut, as a device going down would.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
	}
	c.rtsp.Close()
	c.stopHTTPS()
	c.storageHalt()
	c.events.closeAll()
	c.holdPorts()
}

// holdPorts keeps the ports of a camera that is down (rebooting, powered off) reserved;
// a closed camera frees them.
func (c *Camera) holdPorts() {
	c.netMu.Lock()
	tcp := []string{c.addr}
	c.netMu.Unlock()
	c.https.mu.Lock()
	tcp = append(tcp, c.https.addr)
	c.https.mu.Unlock()
	rtspTCP, udp := c.rtsp.Ports()
	tcp = append(tcp, rtspTCP...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held.Release()
	c.held = nil
	if !c.closed && !c.up {
		c.held = porthold.Ports(tcp, udp)
	}
}

// Reboot restarts the camera: it stops answering for the reboot delay, then boots. It
// returns at once; the reboot runs in the background, owned by the camera.
func (c *Camera) Reboot() {
	c.mu.Lock()
	if c.closed || c.rebooting {
		c.mu.Unlock()
		return
	}
	c.rebooting = true
	c.mu.Unlock()
	c.counters.reboots.Add(1)
	delay := c.cfg.rebootDelay
	if f := c.faults.get(); f.RebootDelay > 0 {
		delay = f.RebootDelay
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.halt()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.quit:
			return
		}
		if err := c.boot(); err != nil {
			c.log.Error("boot after reboot", "err", err)
		}
	}()
}

// PowerOff makes the camera vanish from the network until PowerOn.
func (c *Camera) PowerOff() { c.halt() }

// PowerOn boots a camera that was powered off; it does nothing to a running camera.
func (c *Camera) PowerOn() error {
	if c.Up() {
		return nil
	}
	return c.boot()
}

// Close stops the camera for good and waits for everything it started.
func (c *Camera) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.quit)
	c.mu.Unlock()
	c.halt()
	c.wg.Wait()
	c.mu.Lock()
	c.held.Release()
	c.held = nil
	c.mu.Unlock()
	return nil
}

// uptime and bootID describe the current boot for systemready.cgi.
func (c *Camera) bootInfo() (bootID string, uptime time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bootID, c.now().Sub(c.bootAt)
}

func cloneState(st State) State {
	out := st
	out.Params = make(map[string]string, len(st.Params))
	for k, v := range st.Params {
		out.Params[k] = v
	}
	out.Users = append([]User(nil), st.Users...)
	for i := range out.Users {
		out.Users[i].Groups = append([]string(nil), st.Users[i].Groups...)
	}
	out.Apps = append([]App(nil), st.Apps...)
	out.Overlays = append([]Overlay(nil), st.Overlays...)
	if st.Firmware.Pending != nil {
		p := *st.Firmware.Pending
		out.Firmware.Pending = &p
	}
	if st.PTZ.Presets != nil {
		out.PTZ.Presets = make(map[string]PTZPreset, len(st.PTZ.Presets))
		for k, v := range st.PTZ.Presets {
			out.PTZ.Presets[k] = v
		}
	}
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
