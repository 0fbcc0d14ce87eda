package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/cli"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

func newEnrollCommand() *cobra.Command {
	var relay, caFile, dataDir, device, user, password, account string
	var force bool
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll the agent of a claimed camera by proving its owner authentication key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.RequireFlags(cmd, "relay", "ca", "device", "device-user", "device-password"); err != nil {
				return err
			}
			caPEM, err := identity.ReadCA(dataDir, caFile, force)
			if err != nil {
				return err
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
			if err := makeAccount(cmd.Context(), dataDir, device, account, info, user, password); err != nil {
				return fmt.Errorf("enrolled, but %w; `devicehost run` with --device-user and --device-password makes it", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the agent's own account %q is made on the camera; the admin account is not stored\n", account)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&relay, "relay", "", "relay URL, e.g. https://relay.example:8443")
	f.StringVar(&caFile, "ca", "", "the relay's CA certificate (the relay's DATA/ca.pem)")
	f.StringVar(&device, "device", "http://127.0.0.1", "VAPIX base URL of the camera this agent runs on")
	f.StringVar(&user, "device-user", "", "VAPIX admin account on the camera: reads its key, and makes the agent's own account (not stored)")
	f.StringVar(&password, "device-password", "", "its password (env DEVICEHOST_DEVICE_PASSWORD)")
	f.StringVar(&account, "device-account", "camcloud", "name of the VAPIX account the agent makes on the camera")
	f.StringVar(&dataDir, "data", defaultData, "data directory of this agent")
	f.BoolVar(&force, "force", false, "replace an identity already enrolled in --data")
	return cmd
}

// makeAccount stores the camera in the agent's store with the agent's own account on it,
// made with the admin account.
func makeAccount(ctx context.Context, dataDir, device, account string, info vapix.DeviceInfo, adminUser, adminPassword string) error {
	addr, err := deviceAddr(device)
	if err != nil {
		return err
	}
	st, err := devstore.OpenDir(dataDir)
	if err != nil {
		return fmt.Errorf("open the agent's store: %w", err)
	}
	defer st.Close()
	d := newDevice(info, addr)
	d.User = account
	if err := takeOver(ctx, st, d, adminUser, adminPassword); err != nil {
		return fmt.Errorf("making the agent's account on the camera failed: %w", err)
	}
	return nil
}
