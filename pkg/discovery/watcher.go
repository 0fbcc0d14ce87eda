package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Config describes a Watcher. Zero values mean the defaults in the comments.
type Config struct {
	// Interfaces to browse mDNS on (default: the loopback interface, which must have
	// multicast on: ip link set lo multicast on).
	Interfaces []net.Interface
	// DisableMDNS turns browsing off; devices then come only from Add and Scan.
	DisableMDNS bool
	// SweepInterval is how often mDNS browsing is repeated (default 5s). After a sweep
	// that found a new device or a known one at a new address, the next follows within a
	// second, and the gap doubles from there back up to SweepInterval.
	SweepInterval time.Duration
	// GoneAfter: a device not seen for this long (by mDNS sweeps or, for devices added
	// by hand or by a scan, by the probes that follow) is probed over HTTP, and removed
	// when that fails (default 3*SweepInterval; at least SweepInterval).
	GoneAfter time.Duration
	// ProbeTimeout bounds each HTTP probe (default 2s).
	ProbeTimeout time.Duration
	// OnEvent, when set, is told of every change, in order, from a goroutine of Run; it
	// must not block long. Changes made while Run is not running (by Add or Scan) are
	// told once Run runs.
	OnEvent func(Event)
	// Logger receives the watcher's logs (default: discarded).
	Logger *slog.Logger
	// DialControl, when set, is the net.Dialer Control function of every probe: it sees
	// the resolved address of each connection and may refuse it (the networks devices
	// may be at). A probe it refuses fails with ErrRefused.
	DialControl func(network, address string, c syscall.RawConn) error
}

// Limits and timings that are not worth a knob.
const (
	probeConcurrency = 32               // HTTP probes of Run (enrichment and gone checks) at once
	maxBrowseWindow  = 2 * time.Second  // how long one sweep listens for answers
	refreshAfter     = 10 * time.Minute // facts of a device still announcing are read again after this
	maxQueuedEvents  = 10000            // events kept for OnEvent while Run is not running
)

func (c *Config) setDefaults() error {
	var errs []error
	if c.SweepInterval == 0 {
		c.SweepInterval = 5 * time.Second
	}
	if c.GoneAfter == 0 {
		c.GoneAfter = 3 * c.SweepInterval
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = 2 * time.Second
	}
	if c.SweepInterval < 0 {
		errs = append(errs, fmt.Errorf("sweep interval %s is negative", c.SweepInterval))
	}
	if c.GoneAfter < c.SweepInterval {
		errs = append(errs, fmt.Errorf("gone after %s is shorter than the sweep interval %s", c.GoneAfter, c.SweepInterval))
	}
	if c.ProbeTimeout < 0 {
		errs = append(errs, fmt.Errorf("probe timeout %s is negative", c.ProbeTimeout))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DisableMDNS {
		return errors.Join(errs...)
	}
	if c.Interfaces == nil {
		lo, err := loopback()
		if err != nil {
			errs = append(errs, err)
		}
		c.Interfaces = []net.Interface{lo}
	}
	if len(c.Interfaces) == 0 {
		errs = append(errs, errors.New("no interfaces to browse mDNS on (set DisableMDNS to browse none)"))
	}
	for _, i := range c.Interfaces {
		if i.Flags&net.FlagMulticast == 0 {
			errs = append(errs, fmt.Errorf("interface %s has multicast off (ip link set %s multicast on)", i.Name, i.Name))
		}
	}
	return errors.Join(errs...)
}

// loopback finds the loopback interface.
func loopback() (net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return net.Interface{}, fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i, nil
		}
	}
	return net.Interface{}, errors.New("no loopback interface")
}

// Watcher keeps the list of devices on the local network. Its methods are safe for
// concurrent use.
type Watcher struct {
	cfg        Config
	log        *slog.Logger
	transport  *http.Transport
	retryAfter time.Duration // a failed enrichment of an announcing device is retried after this (a sweep)
	now        func() time.Time

	bg  sync.WaitGroup // Run's probes
	sem chan struct{}  // bounds them

	mu      sync.Mutex
	devices map[string]*entry // by serial
	queue   []Event           // not yet told to OnEvent
	notify  chan struct{}     // something was queued (capacity 1)
	running bool
}

// entry is what the watcher knows of one serial.
type entry struct {
	dev        Device
	present    bool      // listed; an EventAppeared went out
	enriching  bool      // a probe for facts is under way
	probing    bool      // a probe for presence is under way
	lastEnrich time.Time // when facts were last read or failed to be
}

// New checks cfg (every bad field reported at once) and returns a watcher; nothing runs
// until Run.
func New(cfg Config) (*Watcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("discovery: config: %w", err)
	}
	return &Watcher{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "discovery"),
		transport:  newTransport(cfg.ProbeTimeout, cfg.DialControl),
		retryAfter: cfg.SweepInterval,
		now:        time.Now,
		sem:        make(chan struct{}, probeConcurrency),
		devices:    make(map[string]*entry),
		notify:     make(chan struct{}, 1),
	}, nil
}

// Run browses mDNS every SweepInterval (sooner while sweeps find something new), reads
// the facts of every device it finds, probes devices not heard of for GoneAfter and
// drops those that do not answer. It blocks until ctx ends, then stops everything it
// started and returns nil.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("discovery: watcher already running")
	}
	w.running = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		w.dispatch(ctx)
	}()
	defer func() {
		cancel()
		w.bg.Wait()
		<-dispatched
		w.deliver() // what the last probes changed
		w.transport.CloseIdleConnections()
	}()

	w.log.Info("watching", "mdns", !w.cfg.DisableMDNS, "interfaces", ifaceNames(w.cfg.Interfaces),
		"sweep", w.cfg.SweepInterval, "gone_after", w.cfg.GoneAfter)
	// Sweeps follow each other quickly while they bring news (new devices, or known ones
	// at new addresses: answers lost in the burst of a first query, or a fleet
	// restarting), then ever more slowly up to SweepInterval, as RFC 6762 section 5.2
	// has continuous queries do.
	firstGap := min(time.Second, w.cfg.SweepInterval)
	gap := firstGap
	sweepFailing := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		start := time.Now()
		if !w.cfg.DisableMDNS {
			seen, news, err := w.sweep(ctx)
			switch {
			case err != nil && ctx.Err() == nil && !sweepFailing:
				w.log.Warn("mDNS sweep failed; retrying every sweep", "err", err)
				sweepFailing = true
			case err != nil:
				w.log.Debug("mDNS sweep failed", "err", err)
			case sweepFailing:
				w.log.Info("mDNS sweeps work again")
				sweepFailing = false
			}
			w.log.Debug("mDNS sweep", "answers", seen, "news", news, "took", time.Since(start).Round(time.Millisecond))
			if news > 0 {
				gap = firstGap
			} else {
				gap = min(2*gap, w.cfg.SweepInterval)
			}
		} else {
			gap = w.cfg.SweepInterval
		}
		w.checkGone(ctx)
		timer.Reset(max(0, gap-time.Since(start)))
	}
}

func ifaceNames(ifs []net.Interface) string {
	names := make([]string, len(ifs))
	for i, f := range ifs {
		names[i] = f.Name
	}
	return strings.Join(names, ",")
}

// Device returns the device with this serial when it is present.
func (w *Watcher) Device(serial string) (Device, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.devices[serial]
	if !ok || !e.present {
		return Device{}, false
	}
	return e.dev, true
}

// Devices returns the devices present now, sorted by serial.
func (w *Watcher) Devices() []Device {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Device, 0, len(w.devices))
	for _, e := range w.devices {
		if e.present {
			out = append(out, e.dev)
		}
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.Serial, b.Serial) })
	return out
}

// Add probes http://addr (host or host:port, port 80 by default) and, if an Axis device
// answers, lists it (or updates it: a known serial at a new address is the same device).
// Errors wrap ErrNoAnswer when nothing answers and ErrNotAxis when something else does.
func (w *Watcher) Add(ctx context.Context, addr string) (Device, error) {
	a, err := normalizeAddr(addr)
	if err != nil {
		return Device{}, fmt.Errorf("discovery: add: %w", err)
	}
	serial, info, err := w.probe(ctx, a, "")
	if err != nil {
		return Device{}, fmt.Errorf("discovery: add %s: %w", a, err)
	}
	return w.found(serial, a, SourceManual, info), nil
}

// found records a device that answered a probe at addr.
func (w *Watcher) found(serial, addr string, src Source, info vapix.DeviceInfo) Device {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.devices[serial]
	if e == nil {
		e = &entry{dev: Device{Serial: serial, Addr: addr, FirstSeen: now}}
		w.devices[serial] = e
	}
	moved := e.dev.Addr != addr
	e.dev.Addr, e.dev.Source, e.dev.LastSeen = addr, src, now
	changed := e.dev.setFacts(info)
	e.lastEnrich = now
	switch {
	case !e.present:
		e.present = true
		w.emit(EventAppeared, e.dev)
	case moved || changed:
		w.emit(EventChanged, e.dev)
	}
	return e.dev
}

// sighted records an mDNS answer and starts reading the device's facts when they are
// missing, stale or at an old address. It reports whether the answer was news: a new
// serial, or a known one at a new address.
func (w *Watcher) sighted(ctx context.Context, s sighting) bool {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.devices[s.serial]
	if e == nil {
		// Listed once its facts are read (or failed to be), so that it appears with them.
		e = &entry{dev: Device{Serial: s.serial, Addr: s.addr, Source: SourceMDNS, Name: s.name, FirstSeen: now, LastSeen: now}}
		w.devices[s.serial] = e
		w.startEnrich(ctx, e)
		return true
	}
	e.dev.LastSeen, e.dev.Source = now, SourceMDNS
	if s.name != "" {
		e.dev.Name = s.name
	}
	moved := e.dev.Addr != s.addr && !s.announces(e.dev.Addr)
	if moved {
		e.dev.Addr = s.addr
		if e.present {
			w.emit(EventChanged, e.dev)
		}
	}
	stale := !e.dev.Enriched && now.Sub(e.lastEnrich) >= w.retryAfter || now.Sub(e.lastEnrich) >= refreshAfter
	if (moved || stale) && !e.enriching {
		w.startEnrich(ctx, e)
	}
	return moved
}

// startEnrich reads the facts of e at its address in the background. w.mu is held.
func (w *Watcher) startEnrich(ctx context.Context, e *entry) {
	e.enriching = true
	serial, addr := e.dev.Serial, e.dev.Addr
	w.bg.Go(func() {
		_, info, err := w.limitedProbe(ctx, addr, serial)
		w.enriched(ctx, serial, addr, info, err)
	})
}

func (w *Watcher) enriched(ctx context.Context, serial, addr string, info vapix.DeviceInfo, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.devices[serial]
	if e == nil {
		return // gone meanwhile
	}
	e.enriching = false
	switch {
	case ctx.Err() != nil:
		return // stopping: neither a fact nor a failure of the device
	case e.dev.Addr != addr:
		w.startEnrich(ctx, e) // it moved while we asked
		return
	case err != nil:
		w.log.Debug("device facts", "serial", serial, "addr", addr, "err", err)
		e.dev.EnrichError = err.Error()
		e.lastEnrich = w.now()
		if !e.present {
			e.present = true
			w.emit(EventAppeared, e.dev)
		}
		return
	}
	e.lastEnrich = w.now()
	changed := e.dev.setFacts(info)
	switch {
	case !e.present:
		e.present = true
		w.emit(EventAppeared, e.dev)
	case changed:
		w.emit(EventChanged, e.dev)
	}
}

// checkGone probes every device not seen for GoneAfter; probed drops those that do not
// answer.
func (w *Watcher) checkGone(ctx context.Context) {
	type target struct{ serial, addr string }
	var due []target
	now := w.now()
	w.mu.Lock()
	for _, e := range w.devices {
		if !e.probing && now.Sub(e.dev.LastSeen) >= w.cfg.GoneAfter {
			e.probing = true
			due = append(due, target{e.dev.Serial, e.dev.Addr})
		}
	}
	w.mu.Unlock()
	for _, t := range due {
		w.bg.Go(func() {
			_, info, err := w.limitedProbe(ctx, t.addr, t.serial)
			w.probed(ctx, t.serial, t.addr, info, err)
		})
	}
}

func (w *Watcher) probed(ctx context.Context, serial, addr string, info vapix.DeviceInfo, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.devices[serial]
	if e == nil {
		return
	}
	e.probing = false
	now := w.now()
	switch {
	case ctx.Err() != nil:
		return
	case e.dev.Addr != addr || now.Sub(e.dev.LastSeen) < w.cfg.GoneAfter:
		return // seen again meanwhile, perhaps elsewhere
	case err == nil:
		e.dev.LastSeen, e.lastEnrich = now, now
		changed := e.dev.setFacts(info)
		switch {
		case !e.present:
			e.present = true
			w.emit(EventAppeared, e.dev)
		case changed:
			w.emit(EventChanged, e.dev)
		}
		return
	}
	delete(w.devices, serial)
	w.log.Debug("device does not answer", "serial", serial, "addr", addr, "err", err)
	if e.present {
		w.emit(EventGone, e.dev)
	}
}

// limitedProbe is probe within Run's bound on concurrent probes.
func (w *Watcher) limitedProbe(ctx context.Context, addr, want string) (string, vapix.DeviceInfo, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return "", vapix.DeviceInfo{}, ctx.Err()
	}
	defer func() { <-w.sem }()
	return w.probe(ctx, addr, want)
}
