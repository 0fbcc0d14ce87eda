package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/opencamcloud/camcloud/internal/agent"
	accountpkg "github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/agent/agentcmd"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/graph"
	"github.com/opencamcloud/camcloud/internal/agent/live"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// cameraSetup is `devicehost run` on a camera: the same agent as an edge host's, managing
// the one camera it runs on through its local VAPIX (--device): its state, drift and
// profile difference are reported, jobs run on it, EdgeLink reaches it. As an edge host
// does when it onboards a camera, the agent makes its own admin account on the camera
// (--device-account) with the admin account it is given at enrollment (or to run, if the
// camera lost the agent's account), and uses only its own from then on: the admin
// password is not kept, and a login with it is drift.
type cameraSetup struct {
	device, user, password, account string
	rebootWait                      time.Duration
	live                            live.Flags
}

// AddFlags adds devicehost's flags to `run`.
func (c *cameraSetup) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&c.device, "device", "", "VAPIX base URL of the camera this agent runs on (default: where enrollment found it, else http://127.0.0.1)")
	f.StringVar(&c.user, "device-user", "", "an admin account on the camera, used once to make the agent's own again if the camera lost it (enrollment makes it)")
	f.StringVar(&c.password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD); not stored")
	f.StringVar(&c.account, "device-account", "camcloud", "name of the VAPIX account the agent creates on the camera")
	f.DurationVar(&c.rebootWait, "reboot-wait", 5*time.Minute, "how long to wait for the camera to come back from a reboot")
	c.live.AddFlags(f)
}

// camera is the agent's own camera, managed beside the link.
type camera struct {
	st    *devstore.Store
	fleet *fleet.Manager
	proxy *egress.Proxy
	live  *live.Service
}

// New opens the device store, makes sure the agent's account on the camera works, and
// fills in cfg's fleet, EdgeLink and GraphQL API.
func (c *cameraSetup) New(ctx context.Context, dataDir string, cfg *agent.Config) (agentcmd.Devices, error) {
	st, err := devstore.OpenDir(dataDir)
	if err != nil {
		return nil, err
	}
	cam, err := c.open(ctx, st, dataDir, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return cam, nil
}

func (c *cameraSetup) open(ctx context.Context, st *devstore.Store, dataDir string, cfg *agent.Config) (*camera, error) {
	// Without --device, the camera is where enrollment found it.
	device := c.device
	if device == "" {
		device = "http://127.0.0.1"
		if ds, err := st.Devices(); err == nil && len(ds) == 1 && ds[0].Address != "" {
			device = "http://" + ds[0].Address
		}
	}
	addr, err := deviceAddr(device)
	if err != nil {
		return nil, err
	}
	info, err := waitForCamera(ctx, device)
	if err != nil {
		return nil, err
	}
	if err := ownAccount(ctx, st, info, addr, c.account, c.user, c.password, cfg.Logger); err != nil {
		return nil, err
	}
	fcfg := fleet.Config{Store: st, Account: c.account, Logger: cfg.Logger, TaskConcurrency: 1, RebootWait: c.rebootWait}
	fcfg.InDataDir(dataDir)
	mgr, err := fleet.New(fcfg)
	if err != nil {
		return nil, err
	}
	proxy, err := egress.New(egress.Config{Devices: mgr, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	gql, err := graph.Handler(graph.Config{Fleet: mgr, Agent: graph.Agent{ID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Version: buildinfo.String()}})
	if err != nil {
		return nil, err
	}
	lv, err := live.New(c.live.Config(mgr, cfg.Logger))
	if err != nil {
		return nil, err
	}
	cfg.Fleet, cfg.EdgeLink, cfg.GraphQL, cfg.Live = mgr, proxy, gql, lv
	return &camera{st: st, fleet: mgr, proxy: proxy, live: lv}, nil
}

// Run manages the camera until ctx ends.
func (c *camera) Run(ctx context.Context) error { return c.fleet.Run(ctx) }

// Close lets go of the camera's connections and closes the device store.
func (c *camera) Close() error {
	_ = c.live.Close()
	c.proxy.Close()
	if err := c.st.Close(); err != nil {
		return fmt.Errorf("device store: %w", err)
	}
	return nil
}

// deviceAddr is the host:port of a --device URL.
func deviceAddr(device string) (string, error) {
	u, err := url.Parse(device)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("--device %q: want http://host[:port]", device)
	}
	if u.Port() == "" {
		return u.Host + ":80", nil
	}
	return u.Host, nil
}

// ownAccount makes sure the store holds a working account of the agent's own on the
// camera: the one it has if it still works (a pending password the camera took, left by
// a stop in the middle of a change, becomes current), else a new one made with the admin
// account.
func ownAccount(ctx context.Context, st *devstore.Store, info vapix.DeviceInfo, addr, account, adminUser, adminPassword string, log *slog.Logger) error {
	d, err := st.Device(info.SerialNumber)
	if err == nil && d.User == account {
		_, serr := accountpkg.Settle(ctx, accountpkg.On(d, addr, accountpkg.Devstore(st), vapix.Config{Timeout: 10 * time.Second}))
		if serr == nil {
			return st.UpdateDevice(d.Serial, func(r *devstore.Device) { r.Address, r.Model = addr, info.ProdNbr })
		}
		log.Debug("the agent's account on the camera", "err", serr)
	}
	if adminUser == "" {
		if err == nil {
			return fmt.Errorf("the agent's account %q on camera %s does not work (was the camera reset?): give an admin account with --device-user and --device-password to make it again", account, info.SerialNumber)
		}
		return errors.New("the agent has no account on the camera: give an admin account of the camera with --device-user and --device-password; the agent uses it once to make its own")
	}
	if err != nil {
		d = newDevice(info, addr)
	}
	d.Address, d.User, d.Model = addr, account, info.ProdNbr
	if err := takeOver(ctx, st, d, adminUser, adminPassword); err != nil {
		return err
	}
	log.Info("the agent's account is made on the camera", "serial", d.Serial, "account", account)
	return nil
}

// newDevice is the store's record of the camera before the agent has an account on it.
func newDevice(info vapix.DeviceInfo, addr string) devstore.Device {
	return devstore.Device{Serial: info.SerialNumber, Address: addr, Model: info.ProdNbr, Mode: fleet.ModeManaged, OnboardedAt: time.Now().UTC()}
}

// takeOver makes the agent's account d.User on the camera with an admin account.
func takeOver(ctx context.Context, st *devstore.Store, d devstore.Device, adminUser, adminPassword string) error {
	admin, err := vapix.New(vapix.Config{BaseURL: "http://" + d.Address, User: adminUser, Password: adminPassword, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer admin.CloseIdleConnections()
	_, err = fleet.TakeOver(ctx, st, admin, d, 10*time.Second, time.Now)
	return err
}

// waitForCamera reads the camera's facts anyone may read, waiting for it while it starts
// (the agent may start before the camera's web server).
func waitForCamera(ctx context.Context, device string) (vapix.DeviceInfo, error) {
	c, err := vapix.New(vapix.Config{BaseURL: device, Timeout: 10 * time.Second})
	if err != nil {
		return vapix.DeviceInfo{}, err
	}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := c.UnrestrictedDeviceInfo(ctx)
		if err == nil {
			return info, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return vapix.DeviceInfo{}, fmt.Errorf("read the camera: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
