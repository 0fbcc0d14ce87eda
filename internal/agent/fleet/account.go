package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/runners"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// TakeOver makes the agent's own admin account (rec.User) on the device at rec.Address
// with the device's admin account (admin), stores rec with the new password sealed
// before the device learns it (so a crash in between loses nothing), checks that the
// account works, and starts the device's managed time then (clock now): admin logins
// before that moment were the take-over's own, not drift. An account of that name that exists
// already (an earlier take-over) gets the new password.
func TakeOver(ctx context.Context, st *devstore.Store, admin *vapix.Client, rec devstore.Device, timeout time.Duration, now func() time.Time) (devstore.Device, error) {
	pass := runners.NewPassword()
	if err := st.PutDevice(rec, pass); err != nil {
		return rec, fmt.Errorf("store: %w", err)
	}
	err := admin.AddUser(ctx, rec.User, pass, vapix.RoleAdmin, "camcloud agent")
	if err != nil {
		err = admin.UpdateUser(ctx, rec.User, pass, vapix.RoleAdmin)
	}
	if err != nil {
		return rec, fmt.Errorf("create the agent's account on %s: %w", rec.Serial, err)
	}
	c, err := vapix.New(vapix.Config{BaseURL: "http://" + rec.Address, User: rec.User, Password: pass, Timeout: timeout})
	if err != nil {
		return rec, err
	}
	defer c.CloseIdleConnections()
	if name, _, err := c.WhoAmI(ctx); err != nil || name != rec.User {
		return rec, fmt.Errorf("the agent's new account on %s does not work: %v", rec.Serial, err)
	}
	if err := st.UpdateDevice(rec.Serial, func(r *devstore.Device) { r.ManagedSince = now().UTC() }); err != nil {
		return rec, fmt.Errorf("store: %w", err)
	}
	return st.Device(rec.Serial)
}
