package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// TakeOver makes the agent's own admin account (rec.User) on the device at rec.Address
// with the device's admin account (admin), or gives it a new password when it exists
// already (an earlier take-over), by the protocol of package account, and stores rec with
// that password once the device takes it; the device's managed time starts then (clock
// now, or the device's clock when its log runs ahead: managedSince): admin logins before
// that moment were the take-over's own, not drift.
//
// Nothing of a take-over that fails stays: a device the store did not have is not
// stored (it is not managed), and one it had keeps its record and working password.
func TakeOver(ctx context.Context, st *devstore.Store, admin *vapix.Client, rec devstore.Device, timeout time.Duration, now func() time.Time) (devstore.Device, error) {
	old, err := st.Device(rec.Serial)
	if err != nil && !errors.Is(err, devstore.ErrNotFound) {
		return rec, fmt.Errorf("store: %w", err)
	}
	// The pending password is for the account the record has: a take-over that makes an
	// account of another name leaves the one the agent has alone.
	stored := err == nil && old.User == rec.User
	a := account.On(rec, rec.Address, account.Devstore(st), vapix.Config{Timeout: timeout})
	err = account.TakeOver(ctx, a, admin, stored, func(password string) error {
		rec.SealedPending, rec.ManagedSince = nil, managedSince(ctx, a.Open, password, now().UTC())
		return st.PutDevice(rec, password)
	})
	if err != nil {
		return rec, err
	}
	return st.Device(rec.Serial)
}

// Account is the agent's account on a managed device, reached at its current address
// (runners.Devices): its passwords are the manager's (SetPassword, Passwords).
func (m *Manager) Account(_ context.Context, serial string) (account.Account, error) {
	d, err := m.cfg.Store.Device(serial)
	if errors.Is(err, devstore.ErrNotFound) {
		return account.Account{}, fmt.Errorf("device %s is not managed by this agent", serial)
	}
	if err != nil {
		return account.Account{}, err
	}
	return m.account(d, m.addr(d)), nil
}

// account is the agent's account on d at addr.
func (m *Manager) account(d devstore.Device, addr string) account.Account {
	return account.On(d, addr, m, vapix.Config{Timeout: m.cfg.Timeout, DialControl: m.cfg.DialControl})
}

// maxClockAhead bounds how far ahead of the agent's clock a device's clock is believed.
const maxClockAhead = 10 * time.Minute

// managedSince is when a device taken over at now (the agent's clock) starts to be
// managed, in the terms of its system log: the log's times are the device's clock, and
// admin logins after this moment are drift, so the take-over's own sessions, logged by
// now, must not come after it even when the device's clock runs ahead. It is the later
// of now and the newest entry of the log (read with the agent's account), if that is
// not more than maxClockAhead ahead.
func managedSince(ctx context.Context, open func(password string) (*vapix.Client, error), password string, now time.Time) time.Time {
	c, err := open(password)
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

// settlePending settles the passwords of the agent's account on d when the device
// refuses the current one (account.Settle): a new password (a take-over, a rotation) the
// device took but the agent could not record as taken becomes current. It reports
// whether the device takes one, with the record then stored. A rotation under way is
// left to settle its own password.
func (m *Manager) settlePending(ctx context.Context, d devstore.Device, addr string, log *slog.Logger) (devstore.Device, bool) {
	if len(d.SealedPending) == 0 || m.rotating(d.Serial) {
		return d, false
	}
	if _, err := account.Settle(ctx, m.account(d, addr)); err != nil {
		log.Debug("settle the passwords of the agent's account", "err", err)
		return d, false
	}
	nd, err := m.cfg.Store.Device(d.Serial)
	if err != nil {
		return d, false
	}
	if !bytes.Equal(nd.SealedPassword, d.SealedPassword) {
		log.Info("the device takes the new password of the agent's account: now the current one")
	}
	return nd, true
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
