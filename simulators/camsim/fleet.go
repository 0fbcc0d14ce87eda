package camsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opencamcloud/camcloud/simulators/mdns"
	"github.com/opencamcloud/camcloud/simulators/media"
)

// Config describes a fleet. Zero values mean the defaults given in each comment.
type Config struct {
	// Count is the number of cameras (default 1).
	Count int
	// Listen is the HTTP address of the first camera; camera i listens on port+i. Port 0
	// gives every camera a free port of its own (default 127.0.0.1:0).
	Listen string
	// RTSPListen is the RTSP address of the first camera, consecutive like Listen.
	// Default: Listen's host, starting right after the last HTTP port (or port 0).
	RTSPListen string
	// HTTPSListen is the HTTPS address of the first camera, consecutive like Listen.
	// Default: RTSPListen's host, starting right after the last RTSP port (or port 0).
	HTTPSListen string
	// User and Password are the admin account every camera has out of the box
	// (default root / pass).
	User, Password string
	// StateDir keeps each camera's state across restarts (default: memory only).
	StateDir string
	// SerialOffset shifts the serial numbers, so that several fleets on one host do not
	// share serials.
	SerialOffset int
	// AllowBasic accepts HTTP Basic besides Digest (default: Digest only, as a camera's
	// default policy over plain HTTP).
	AllowBasic bool
	// RebootDelay is how long a reboot keeps a camera offline (default 2s; real devices
	// take 30 to 120 s).
	RebootDelay time.Duration
	// RollbackMinute is how long one minute of fwmgr's autoRollback lasts (default a
	// minute; tests shorten it to see an uncommitted upgrade roll back).
	RollbackMinute time.Duration
	// MDNS announces every camera over mDNS (_axis-video._tcp) on MDNSInterface
	// (default lo, which needs multicast on: ip link set lo multicast on).
	MDNS          bool
	MDNSInterface string
	// SSDP answers M-SEARCH (UPnP) for the cameras whose Network.UPnP.Enabled is yes
	// (out of the box: before AXIS OS 12) on SSDPInterface (default lo).
	SSDP          bool
	SSDPInterface string
	// Faults apply to every camera from the start.
	Faults Faults
	// Logger receives the fleet's logs (default: discarded).
	Logger *slog.Logger
}

const maxCameras = 20000

func (c *Config) setDefaults() error {
	var errs []error
	if c.Count == 0 {
		c.Count = 1
	}
	if c.Count < 0 || c.Count > maxCameras {
		errs = append(errs, fmt.Errorf("count %d: want 1..%d", c.Count, maxCameras))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	host, port, err := splitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen: %w", err))
	} else if port != 0 && port+c.Count-1 > 65535 {
		errs = append(errs, fmt.Errorf("listen: %d cameras from port %d run past 65535", c.Count, port))
	}
	if c.RTSPListen == "" && err == nil {
		rtspPort := 0
		if port != 0 {
			rtspPort = port + c.Count
		}
		c.RTSPListen = net.JoinHostPort(host, strconv.Itoa(rtspPort))
	}
	if _, rport, err := splitHostPort(c.RTSPListen); err != nil {
		errs = append(errs, fmt.Errorf("rtsp listen: %w", err))
	} else if rport != 0 && rport+c.Count-1 > 65535 {
		errs = append(errs, fmt.Errorf("rtsp listen: %d cameras from port %d run past 65535", c.Count, rport))
	}
	if c.HTTPSListen == "" {
		if host, rport, err := splitHostPort(c.RTSPListen); err == nil {
			httpsPort := 0
			if rport != 0 {
				httpsPort = rport + c.Count
			}
			c.HTTPSListen = net.JoinHostPort(host, strconv.Itoa(httpsPort))
		}
	}
	if _, hport, err := splitHostPort(c.HTTPSListen); err != nil {
		errs = append(errs, fmt.Errorf("https listen: %w", err))
	} else if hport != 0 && hport+c.Count-1 > 65535 {
		errs = append(errs, fmt.Errorf("https listen: %d cameras from port %d run past 65535", c.Count, hport))
	}
	if c.User == "" {
		c.User = "root"
	}
	if c.Password == "" {
		c.Password = "pass"
	}
	if c.SerialOffset < 0 || c.SerialOffset+c.Count > 0xFEFFFF {
		errs = append(errs, fmt.Errorf("serial offset %d out of range", c.SerialOffset))
	}
	if c.RebootDelay == 0 {
		c.RebootDelay = 2 * time.Second
	}
	if c.RollbackMinute == 0 {
		c.RollbackMinute = time.Minute
	}
	if c.RebootDelay < 0 {
		errs = append(errs, fmt.Errorf("reboot delay %s is negative", c.RebootDelay))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return host, port, nil
}

// addrAt is the address of camera i given the first camera's address.
func addrAt(base string, i int) string {
	host, port, _ := splitHostPort(base)
	if port == 0 {
		return base
	}
	return net.JoinHostPort(host, strconv.Itoa(port+i))
}

// Fleet is a set of simulated cameras in one process.
type Fleet struct {
	cfg     Config
	source  *media.Source
	stop    context.CancelFunc // stops the source
	done    chan struct{}      // closed when the source returned
	cameras []*Camera
	bySN    map[string]*Camera

	mu      sync.Mutex
	started bool
}

// New checks cfg and prepares the cameras (loading their state); nothing listens yet.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("camsim: state dir: %w", err)
		}
	}
	if _, err := media.DefaultClip(); err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	var ifaces []net.Interface
	if cfg.MDNS {
		iface, err := mdns.InterfaceByName(cfg.MDNSInterface)
		if err != nil {
			return nil, fmt.Errorf("camsim: %w", err)
		}
		ifaces = []net.Interface{iface}
	}
	var ssdpIfaces []net.Interface
	if cfg.SSDP {
		iface, err := mdns.InterfaceByName(cfg.SSDPInterface)
		if err != nil {
			return nil, fmt.Errorf("camsim: ssdp: %w", err)
		}
		ssdpIfaces = []net.Interface{iface}
	}
	f := &Fleet{cfg: cfg, bySN: make(map[string]*Camera, cfg.Count), source: media.NewSource(), done: make(chan struct{})}
	for i := 0; i < cfg.Count; i++ {
		id := NewIdentity(i, cfg.SerialOffset)
		cam, err := newCamera(id, cameraConfig{
			listen:      addrAt(cfg.Listen, i),
			rtspListen:  addrAt(cfg.RTSPListen, i),
			httpsListen: addrAt(cfg.HTTPSListen, i),
			source:      f.source,
			mdnsIfaces:  ifaces,
			ssdpIfaces:  ssdpIfaces,
			user:        cfg.User,
			password:    cfg.Password,
			stateDir:    cfg.StateDir,
			allowBasic:  cfg.AllowBasic,
			rebootDelay: cfg.RebootDelay,
			minute:      cfg.RollbackMinute,
			logger:      cfg.Logger.With("component", "camsim"),
		})
		if err != nil {
			return nil, fmt.Errorf("camsim: %w", err)
		}
		cam.SetFaults(cfg.Faults)
		f.cameras = append(f.cameras, cam)
		f.bySN[id.Serial] = cam
	}
	return f, nil
}

// Start boots every camera; when it returns nil all of them answer. On error the cameras
// already started are stopped again.
func (f *Fleet) Start(ctx context.Context) error {
	// The lock guards only the start flag and the source's stop: Close takes it too, and
	// a failed start calls Close.
	f.mu.Lock()
	if f.started {
		f.mu.Unlock()
		return errors.New("camsim: fleet already started")
	}
	f.started = true
	srcCtx, stop := context.WithCancel(context.Background())
	f.stop = stop
	f.mu.Unlock()
	go func() {
		defer close(f.done)
		_ = f.source.Run(srcCtx)
	}()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, cam := range f.cameras {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return cam.boot()
		})
	}
	if err := g.Wait(); err != nil {
		_ = f.Close()
		return fmt.Errorf("camsim: start: %w", err)
	}
	return nil
}

// Cameras returns the fleet's cameras in index order.
func (f *Fleet) Cameras() []*Camera { return f.cameras }

// Camera finds a camera by serial number.
func (f *Fleet) Camera(serial string) (*Camera, bool) {
	c, ok := f.bySN[serial]
	return c, ok
}

// Close stops every camera and waits for them.
func (f *Fleet) Close() error {
	var wg sync.WaitGroup
	for _, cam := range f.cameras {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cam.Close()
		}()
	}
	wg.Wait()
	f.mu.Lock()
	stop := f.stop
	f.stop = nil
	f.mu.Unlock()
	if stop != nil {
		stop()
		<-f.done
	}
	return nil
}
