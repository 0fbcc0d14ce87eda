package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/cli"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

const long = `camsim starts N simulated Axis cameras in one process. Camera i serves VAPIX over
HTTP (Digest authentication) on the port of --listen plus i, and H.264 over RTSP at
/axis-media/media.amp on the port of --rtsp-listen plus i, and VAPIX over HTTPS (its own
self-signed certificate) on the port of --https-listen plus i. Port 0 gives every camera
a free port.

When every camera answers, camsim writes one JSON object per camera on stdout:
  {"serial":"ACCC8E010000","model":"P3265-V","http":"http://127.0.0.1:8081",
   "rtsp":"rtsp://127.0.0.1:8085/axis-media/media.amp","https":"https://127.0.0.1:8089",
   "mac":"AC:CC:8E:01:00:00","oak":"..."}

Each camera keeps its firmware, parameters, users, apps and overlays in --state DIR, so
a restart with the same flags finds the same cameras as they were left.

--fault takes comma-separated faults: latency=50ms, errors=0.05 (fraction of requests
answered 500), drop=0.01 (connections closed unanswered), upgrade-fail=0.05 (firmware
upgrades that fail), reboot=60s (slow reboots), oak-unavailable.

The control API (--control) lists cameras and their counters, triggers motion events,
changes faults and reboots or powers cameras off and on; see docs/camsim.md.

Flags can also be set as CAMSIM_<FLAG> environment variables or keys of a --config file.`

func newRootCommand() *cobra.Command {
	root := cli.Root("camsim", "CAMSIM", "Simulated Axis cameras for testing camcloud without hardware", long)
	var (
		cfg        camsim.Config
		control    string
		faultSpec  string
		logLevel   string
		stateDir   string
		rebootTime time.Duration
	)
	f := root.Flags()
	f.IntVarP(&cfg.Count, "count", "n", 1, "number of cameras")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8081", "HTTP address of the first camera (the others follow on consecutive ports; port 0: any free port)")
	f.StringVar(&cfg.RTSPListen, "rtsp-listen", "", "RTSP address of the first camera (default: the port after the last HTTP port)")
	f.StringVar(&cfg.HTTPSListen, "https-listen", "", "HTTPS address of the first camera (default: the port after the last RTSP port)")
	f.StringVar(&control, "control", "", "address of the control API, e.g. 127.0.0.1:8080 (default: off)")
	f.StringVar(&cfg.User, "user", "root", "the admin account of every camera")
	f.StringVar(&cfg.Password, "password", "pass", "its password")
	f.StringVar(&stateDir, "state", "", "directory keeping each camera's state across restarts (default: memory only)")
	f.IntVar(&cfg.SerialOffset, "serial-offset", 0, "shift serial numbers, to run several camsim processes side by side")
	f.BoolVar(&cfg.AllowBasic, "basic", false, "also accept HTTP Basic authentication")
	f.DurationVar(&rebootTime, "reboot-time", 2*time.Second, "how long a reboot keeps a camera offline")
	f.StringVar(&faultSpec, "fault", "", "faults every camera shows (see above)")
	f.BoolVar(&cfg.MDNS, "mdns", false, "announce every camera over mDNS (_axis-video._tcp)")
	f.StringVar(&cfg.MDNSInterface, "mdns-interface", "lo", "interface for mDNS announcements (needs multicast on)")
	f.BoolVar(&cfg.SSDP, "ssdp", false, "answer SSDP (UPnP) searches for cameras with Network.UPnP.Enabled=yes (out of the box: before AXIS OS 12)")
	f.StringVar(&cfg.SSDPInterface, "ssdp-interface", "lo", "interface for SSDP (needs multicast on)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")

	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
		faults, err := camsim.ParseFaults(faultSpec)
		if err != nil {
			return fmt.Errorf("--fault: %w", err)
		}
		cfg.Faults = faults
		cfg.StateDir = stateDir
		cfg.RebootDelay = rebootTime
		cfg.Logger = log
		return run(cmd.Context(), cmd, cfg, control, log)
	}
	return root
}

func run(ctx context.Context, cmd *cobra.Command, cfg camsim.Config, control string, log *slog.Logger) error {
	fleet, err := camsim.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := fleet.Start(ctx); err != nil {
		return err
	}
	defer fleet.Close()

	var ctlErr chan error
	if control != "" {
		ln, err := net.Listen("tcp", control)
		if err != nil {
			return fmt.Errorf("control API: %w", err)
		}
		srv := &http.Server{Handler: fleet.ControlHandler(), ReadHeaderTimeout: 10 * time.Second}
		ctlErr = make(chan error, 1)
		go func() { ctlErr <- srv.Serve(ln) }()
		defer func() {
			_ = srv.Close()
			<-ctlErr
		}()
		log.Info("control API", "url", "http://"+ln.Addr().String())
	}

	enc := json.NewEncoder(cmd.OutOrStdout())
	for _, c := range fleet.Cameras() {
		if err := enc.Encode(c.Info()); err != nil {
			return err
		}
	}
	if f, ok := cmd.OutOrStdout().(*os.File); ok {
		_ = f.Sync()
	}
	log.Info("cameras ready", "count", len(fleet.Cameras()), "took", time.Since(start).Round(time.Millisecond))

	select {
	case <-ctx.Done():
	case err := <-ctlErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("control API: %w", err)
		}
	}
	log.Info("stopping")
	return nil
}
