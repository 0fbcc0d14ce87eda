package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

func newEnrollCommand() *cobra.Command {
	var relay, caFile, dataDir, device, user, password string
	var force bool
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll the agent of a claimed camera by proving its owner authentication key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var missing []error
			for name, v := range map[string]string{"--relay": relay, "--ca": caFile, "--device": device, "--device-user": user, "--device-password": password} {
				if v == "" {
					missing = append(missing, fmt.Errorf("%s is required", name))
				}
			}
			if err := errors.Join(missing...); err != nil {
				return err
			}
			if _, err := identity.Load(dataDir); err == nil && !force {
				return fmt.Errorf("%s already holds an enrolled identity; use --force to replace it", dataDir)
			}
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("--ca: %w", err)
			}
			cam, err := vapix.New(vapix.Config{BaseURL: device, User: user, Password: password})
			if err != nil {
				return err
			}
			info, err := cam.DeviceInfo(cmd.Context())
			if err != nil {
				return fmt.Errorf("read the camera's serial number: %w", err)
			}
			key, err := cam.OAK(cmd.Context())
			if err != nil {
				return fmt.Errorf("read the camera's owner authentication key: %w", err)
			}
			id, err := identity.EnrollDevice(cmd.Context(), relay, caPEM, info.SerialNumber, key)
			if err != nil {
				return err
			}
			if err := id.Save(dataDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled the agent of camera %s (%s) in organization %s; identity stored in %s\n",
				info.SerialNumber, info.ProdNbr, id.Org, dataDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&relay, "relay", "", "relay URL, e.g. https://relay.example:8443")
	f.StringVar(&caFile, "ca", "", "the relay's CA certificate (the relay's DATA/ca.pem)")
	f.StringVar(&device, "device", "http://127.0.0.1", "VAPIX base URL of the camera this agent runs on")
	f.StringVar(&user, "device-user", "", "VAPIX admin account on the camera")
	f.StringVar(&password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD)")
	f.StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	f.BoolVar(&force, "force", false, "replace an identity already enrolled in --data")
	return cmd
}
