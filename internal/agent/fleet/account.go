package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/runners"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// TakeOver makes the agent's own admin account (rec.User) on the device at rec.Address
// with the device's admin account (admin), or gives it a new password when it exists
// already (an earlier take-over), and stores rec with that password once the device
// takes it; the device's managed time starts then (clock now, or the device's clock when
// its log runs ahead: managedSince): admin logins before that moment were the
// take-over's own, not drift.
//
// Nothing of a take-over that fails stays: a device the store did not have is not
// stored (it is not managed), and one it had keeps its record and working password. For
// the latter the new password is held pending (sealed) before the device learns it, so
// that when the device took it but the agent could not record so (a lost answer, a
// crash) the agent still reaches the device: polls try the pending password once the
// current one is refused (Manager.settlePending).
func TakeOver(ctx context.Context, st *devstore.Store, admin *vapix.Client, rec devstore.Device, timeout time.Duration, now func() time.Time) (devstore.Device, error) {
	old, err := st.Device(rec.Serial)
	if err != nil && !errors.Is(err, devstore.ErrNotFound) {
		return rec, fmt.Errorf("store: %w", err)
	}
	// The pending password is for the account the record has: a take-over that makes an
	// account of another name leaves the one the agent has alone.
	pending := err == nil && old.User == rec.User
	pass := runners.NewPassword()
	if pending {
		if err := st.SetPassword(rec.Serial, pass, true); err != nil {
			return rec, fmt.Errorf("store: %w", err)
		}
	}
	setErr := admin.AddUser(ctx, rec.User, pass, vapix.RoleAdmin, "camcloud agent")
	if setErr != nil {
		setErr = admin.UpdateUser(ctx, rec.User, pass, vapix.RoleAdmin)
	}
	// Whatever the answer, the device says whether it takes the new password.
	name, whoErr := whoIs(ctx, rec, pass, timeout)
	if whoErr == nil && name == rec.User {
		rec.SealedPending, rec.ManagedSince = nil, managedSince(ctx, rec, pass, timeout, now().UTC())
		if err := st.PutDevice(rec, pass); err != nil {
			return rec, fmt.Errorf("store: %w", err)
		}
		return st.Device(rec.Serial)
	}
	if pending && (whoErr == nil || errors.Is(whoErr, vapix.ErrUnauthorized)) {
		// Refused: the new password is dropped if the device still takes the current one;
		// else both are kept, for the next poll to settle.
		at := old
		at.Address = rec.Address
		if current, err := st.Password(old); err == nil {
			if name, err := whoIs(ctx, at, current, timeout); err == nil && name == old.User {
				if err := st.SetPassword(rec.Serial, current, false); err != nil {
					return rec, fmt.Errorf("store: %w", err)
				}
			}
		}
	}
	if setErr != nil {
		return rec, fmt.Errorf("create the agent's account on %s: %w", rec.Serial, setErr)
	}
	return rec, fmt.Errorf("the agent's new account on %s does not work: %v", rec.Serial, whoErr)
}

// whoIs asks the device at d.Address which account user d.User with password is.
func whoIs(ctx context.Context, d devstore.Device, password string, timeout time.Duration) (string, error) {
	c, err := vapix.New(vapix.Config{BaseURL: "http://" + d.Address, User: d.User, Password: password, Timeout: timeout})
	if err != nil {
		return "", err
	}
	defer c.CloseIdleConnections()
	name, _, err := c.WhoAmI(ctx)
	return name, err
}

// AccountWorks reports whether the agent's stored account logs in on the device at addr
// as itself: with its current password, else with a pending one the device took before
// the agent recorded that it had (a crash between the two), which then becomes current.
// For an agent that checks its account before its Manager runs (devicehost).
func AccountWorks(ctx context.Context, st *devstore.Store, d devstore.Device, addr string, timeout time.Duration) (bool, error) {
	d.Address = addr
	if pass, err := st.Password(d); err == nil {
		if name, err := whoIs(ctx, d, pass, timeout); err == nil && name == d.User {
			return true, nil
		}
	}
	pending, err := st.Pending(d)
	if err != nil || pending == "" {
		return false, nil
	}
	if name, err := whoIs(ctx, d, pending, timeout); err != nil || name != d.User {
		return false, nil
	}
	if err := st.SetPassword(d.Serial, pending, false); err != nil {
		return false, fmt.Errorf("store the password the device takes: %w", err)
	}
	return true, nil
}

// maxClockAhead bounds how far ahead of the agent's clock a device's clock is believed.
const maxClockAhead = 10 * time.Minute

// managedSince is when a device taken over at now (the agent's clock) starts to be
// managed, in the terms of its system log: the log's times are the device's clock, and
// admin logins after this moment are drift, so the take-over's own sessions, logged by
// now, must not come after it even when the device's clock runs ahead. It is the later
// of now and the newest entry of the log (read with the agent's account), if that is
// not more than maxClockAhead ahead.
func managedSince(ctx context.Context, d devstore.Device, password string, timeout time.Duration, now time.Time) time.Time {
	c, err := vapix.New(vapix.Config{BaseURL: "http://" + d.Address, User: d.User, Password: password, Timeout: timeout})
	if err != nil {
		return now
	}
	defer c.CloseIdleConnections()
	entries, err := c.SystemLog(ctx)
	if err != nil {
		return now
	}
	since := now
	for _, e := range entries {
		if e.Time.After(since) && e.Time.Sub(now) <= maxClockAhead {
			since = e.Time.UTC()
		}
	}
	return since
}

// settlePending makes the pending password of the agent's account on d current when the
// device refuses the current one and takes the pending one: a new password (a take-over,
// a rotation) the device took but the agent could not record as taken. It reports
// whether it did, with the record then stored. A rotation under way is left to settle
// its own password.
func (m *Manager) settlePending(ctx context.Context, d devstore.Device, addr string, log *slog.Logger) (devstore.Device, bool) {
	if len(d.SealedPending) == 0 || m.rotating(d.Serial) {
		return d, false
	}
	pending, err := m.cfg.Store.Pending(d)
	if err != nil {
		log.Warn("device credentials", "err", err)
		return d, false
	}
	at := d
	at.Address = addr
	if name, err := whoIs(ctx, at, pending, m.cfg.Timeout); err != nil || name != d.User {
		return d, false
	}
	if err := m.SetPassword(d.Serial, pending, false); err != nil {
		log.Warn("store the password the device takes", "err", err)
		return d, false
	}
	log.Info("the device takes the new password of the agent's account: now the current one")
	nd, err := m.cfg.Store.Device(d.Serial)
	return nd, err == nil
}

// rotating reports whether a task that rotates the password of the agent's account on
// the device is under way.
func (m *Manager) rotating(serial string) bool {
	if m.engine == nil {
		return false
	}
	recs, err := m.engine.List()
	if err != nil {
		return true // cannot tell: leave it to the rotation
	}
	for _, r := range recs {
		if r.Serial == serial && r.Kind == taskkind.RotateAccount && !r.State.Final() {
			return true
		}
	}
	return false
}
