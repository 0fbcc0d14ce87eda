package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/internal/agent/fleet"
	"github.com/opencamcloud/camcloud/internal/agent/graph"
	"github.com/opencamcloud/camcloud/internal/buildinfo"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// cameraSetup is `devicehost run` on a camera: the same agent as an edge host's, managing
// the one camera it runs on through its local VAPIX (--device, --device-user,
// --device-password): its state, drift and profile difference are reported, jobs run on
// it, EdgeLink reaches it.
func cameraSetup(cmd *cobra.Command) func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
	var (
		device, user, password string
		rebootWait             time.Duration
	)
	f := cmd.Flags()
	f.StringVar(&device, "device", "http://127.0.0.1", "VAPIX base URL of the camera this agent runs on")
	f.StringVar(&user, "device-user", "", "VAPIX admin account on the camera (kept sealed in the data directory)")
	f.StringVar(&password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD)")
	f.DurationVar(&rebootWait, "reboot-wait", 5*time.Minute, "how long to wait for the camera to come back from a reboot")

	return func(ctx context.Context, dataDir string, cfg *agent.Config) (func(context.Context) error, func(), error) {
		u, err := url.Parse(device)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, nil, fmt.Errorf("--device %q: want http://host[:port]", device)
		}
		addr := u.Host
		if u.Port() == "" {
			addr += ":80"
		}
		c, err := vapix.New(vapix.Config{BaseURL: device, User: user, Password: password, Timeout: 10 * time.Second})
		if err != nil {
			return nil, nil, err
		}
		defer c.CloseIdleConnections()
		info, err := waitForCamera(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		st, err := devstore.OpenDir(dataDir)
		if err != nil {
			return nil, nil, err
		}
		d, err := st.Device(info.SerialNumber)
		if err != nil { // first run
			now := time.Now().UTC()
			d = devstore.Device{Serial: info.SerialNumber, Mode: fleet.ModeManaged, OnboardedAt: now, ManagedSince: now}
		}
		d.Address, d.User, d.Model = addr, user, info.ProdNbr
		if err := st.PutDevice(d, password); err != nil {
			st.Close()
			return nil, nil, err
		}
		fcfg := fleet.Config{Store: st, Account: user, Logger: cfg.Logger, TaskConcurrency: 1, RebootWait: rebootWait}
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

// waitForCamera reads the camera's facts, waiting for it while it starts (the agent may
// start before the camera's web server).
func waitForCamera(ctx context.Context, c *vapix.Client) (vapix.DeviceInfo, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := c.DeviceInfo(ctx)
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
