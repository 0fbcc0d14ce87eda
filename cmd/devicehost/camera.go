package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent"
	accountpkg "github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/graph"
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
func cameraSetup(cmd *cobra.Command) func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
	var (
		device, user, password, account string
		rebootWait                      time.Duration
	)
	f := cmd.Flags()
	f.StringVar(&device, "device", "", "VAPIX base URL of the camera this agent runs on (default: where enrollment found it, else http://127.0.0.1)")
	f.StringVar(&user, "device-user", "", "an admin account on the camera, used once to make the agent's own again if the camera lost it (enrollment makes it)")
	f.StringVar(&password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD); not stored")
	f.StringVar(&account, "device-account", "camcloud", "name of the VAPIX account the agent creates on the camera")
	f.DurationVar(&rebootWait, "reboot-wait", 5*time.Minute, "how long to wait for the camera to come back from a reboot")

	return func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
		st, err := devstore.OpenDir(dataDir)
		if err != nil {
			return nil, nil, err
		}
		// Without --device, the camera is where enrollment found it.
		if device == "" {
			device = "http://127.0.0.1"
			if ds, err := st.Devices(); err == nil && len(ds) == 1 && ds[0].Address != "" {
				device = "http://" + ds[0].Address
			}
		}
		addr, err := deviceAddr(device)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		info, err := waitForCamera(ctx, device)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		if err := ownAccount(ctx, st, info, addr, account, user, password, cfg.Logger); err != nil {
			st.Close()
			return nil, nil, err
		}
		fcfg := fleet.Config{Store: st, Account: account, Logger: cfg.Logger, TaskConcurrency: 1, RebootWait: rebootWait}
		fcfg.InDataDir(dataDir)
		mgr, err := fleet.New(fcfg)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		cfg.Fleet = mgr
		proxy, err := egress.New(egress.Config{Devices: mgr, Logger: cfg.Logger})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		cfg.EdgeLink = proxy
		if cfg.GraphQL, err = graph.Handler(graph.Config{Fleet: mgr, Agent: graph.Agent{ID: cfg.Identity.AgentID, Org: cfg.Identity.Org, Version: buildinfo.String()}}); err != nil {
			st.Close()
			return nil, nil, err
		}
		return mgr.Run, func() { proxy.Close(); st.Close() }, nil
	}
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
		_, serr := accountpkg.Settle(ctx, ownAccountOn(st, d, addr))
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

// ownAccountOn is the agent's account d.User on the camera at addr.
func ownAccountOn(st *devstore.Store, d devstore.Device, addr string) accountpkg.Account {
	return accountpkg.Account{Serial: d.Serial, User: d.User, Store: accountpkg.Devstore(st), Open: func(password string) (*vapix.Client, error) {
		return vapix.New(vapix.Config{BaseURL: "http://" + addr, User: d.User, Password: password, Timeout: 10 * time.Second})
	}}
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
