package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
)

// Forget stops managing devices the relay no longer has this agent manage (deleted from
// the inventory, or moved to another edge host): the agent removes its own account from
// each device where it still can (its credentials still work there), then drops the
// credentials, so that it neither reports nor reaches the device again. A device it
// does not manage is not an error. It returns the first error of dropping credentials;
// a device it could not remove its account from is only logged, since the account may
// be gone already or another agent's now.
func (m *Manager) Forget(ctx context.Context, serials []string) error {
	var errs []error
	for _, serial := range serials {
		serial = strings.ToUpper(serial)
		d, err := m.cfg.Store.Device(serial)
		if errors.Is(err, devstore.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("forget %s: %w", serial, err))
			continue
		}
		log := m.cfg.Logger.With("serial", serial)
		if err := m.removeOwnAccount(ctx, d); err != nil {
			log.Warn("forget device: the agent's account stays on it", "account", d.User, "err", err)
		} else {
			log.Info("forget device: the agent's account removed from it", "account", d.User)
		}
		if err := m.cfg.Store.DeleteDevice(serial); err != nil {
			errs = append(errs, fmt.Errorf("forget %s: %w", serial, err))
			continue
		}
		m.forgetConn(serial)
	}
	m.discoveriesChanged() // it is only discovered now
	m.inventoryDue()       // and the relay hears the inventory without it
	return errors.Join(errs...)
}

// removeOwnAccount removes the agent's account from the device, logged in as that
// account: only while its password still works, so that an account another agent took
// over (same name, new password) is left alone.
func (m *Manager) removeOwnAccount(ctx context.Context, d devstore.Device) error {
	c, err := m.client(d, m.addr(d))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	name, _, err := c.WhoAmI(ctx)
	if err != nil {
		return fmt.Errorf("the agent's account does not log in: %w", err)
	}
	if name != d.User {
		return fmt.Errorf("the agent's credentials log in as %s, not %s", name, d.User)
	}
	return c.RemoveUser(ctx, d.User)
}
