// Package agentcmd holds the commands edgehost and devicehost share: run and status.
package agentcmd

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Inventory adds what a run command needs to list the agent's devices (its flags) and
// returns the function that lists them.
type Inventory func(cmd *cobra.Command) func(ctx context.Context) ([]linkapi.DeviceReport, error)

// Run is `KIND run`: keep the link to the relay up until stopped, reporting the devices
// inventory lists (when not nil).
func Run(kind, defaultData string, inventory Inventory) *cobra.Command {
	var dataDir, logLevel string
	var list func(ctx context.Context) ([]linkapi.DeviceReport, error)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Connect to the relay and serve it until stopped (Ctrl-C)",
		Long: `run keeps this agent's link to the relay up: one outbound WebSocket with mutual
TLS (the certificate from enroll), reconnecting with jittered exponential backoff when it
drops.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})).With("agent", id.AgentID)
			return agent.Run(cmd.Context(), agent.Config{Identity: id, Kind: kind, Logger: log, Inventory: list})
		},
	}
	if inventory != nil {
		list = inventory(cmd)
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// CameraInventory is the inventory of an agent on a camera: --device, --device-user and
// --device-password reach the camera's VAPIX; the report is that one camera.
func CameraInventory(cmd *cobra.Command) func(ctx context.Context) ([]linkapi.DeviceReport, error) {
	var device, user, password string
	f := cmd.Flags()
	f.StringVar(&device, "device", "http://127.0.0.1", "VAPIX base URL of the camera this agent runs on")
	f.StringVar(&user, "device-user", "", "VAPIX account on the camera")
	f.StringVar(&password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD)")
	var cam *vapix.Client
	return func(ctx context.Context) ([]linkapi.DeviceReport, error) {
		if cam == nil {
			c, err := vapix.New(vapix.Config{BaseURL: device, User: user, Password: password})
			if err != nil {
				return nil, err
			}
			cam = c
		}
		info, err := cam.DeviceInfo(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the camera: %w", err)
		}
		return []linkapi.DeviceReport{{Serial: info.SerialNumber, Model: info.ProdNbr, FirmwareVersion: info.Version, Reachable: true}}, nil
	}
}

// Status is `KIND status`: the agent's identity and enrollment.
func Status(defaultData string) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this agent's identity and enrollment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := identity.Load(dataDir)
			if err != nil {
				return err
			}
			return id.Describe(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	return cmd
}
