// Package account is the agent's own VAPIX account on a device: taking it over with an
// admin account, giving it a new password (rotation), and settling which of two stored
// passwords the device takes. It is the one place where the pending-password protocol
// lives; fleet (onboarding, polls), the rotation task and devicehost all go through it.
//
// # The protocol
//
// A device keeps one password per account, and a password change may be applied by the
// device without the agent learning so (a lost answer, a crash, a timeout). So:
//
//   - A new password is stored sealed as pending before the device is asked to take it;
//     the current password stays current meanwhile.
//   - The pending password becomes current only once the device is known to take it (it
//     logs in with it as the account).
//   - The pending password is dropped only once the device is known to take the current
//     one: a change the device did not take never loses the only working password.
//   - A device that cannot be asked changes nothing: both passwords stay, and the next
//     use settles them (Settle) by trying the pending password, then the current one.
package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// ErrRefused means the device takes neither password the agent holds for its account:
// only an admin account can make it again (onboarding, devicehost --device-user).
var ErrRefused = errors.New("the device takes neither the current nor the pending password of the agent's account")

// Store keeps the passwords of the agent's account on each device.
type Store interface {
	// Passwords are the current password and a pending one ("" if none).
	Passwords(serial string) (current, pending string, err error)
	// SetPassword stores a password: pending (the current one kept) or current (the
	// pending one dropped).
	SetPassword(serial, password string, pending bool) error
}

// Account is the agent's account on one device.
type Account struct {
	Serial string
	User   string // the account's name on the device
	Store  Store  // the agent's passwords
	// Open returns a client of the device that logs in as User with password; its idle
	// connections are closed after use.
	Open func(password string) (*vapix.Client, error)
}

// On is the agent's account d.User on device d, reached at addr (host:port: the agent
// speaks plain HTTP to devices on its network), with its passwords in st. client holds
// the settings of the clients Open makes (Timeout, DialControl, Transport); their
// BaseURL, User and Password are the account's.
func On(d devstore.Device, addr string, st Store, client vapix.Config) Account {
	return Account{Serial: d.Serial, User: d.User, Store: st, Open: func(password string) (*vapix.Client, error) {
		cfg := client
		cfg.BaseURL, cfg.User, cfg.Password = "http://"+addr, d.User, password
		return vapix.New(cfg)
	}}
}

// NewPassword is a password for the agent's account on a device: 26 random base32
// characters (130 bits), within what AXIS OS accepts (vapix.md 10).
func NewPassword() string { return rand.Text() }

// errWrongAccount: the password logs in, but as another account.
var errWrongAccount = errors.New("the password logs in as another account")

// check asks the device whether it takes password for the account: nil when it does,
// an error wrapping vapix.ErrUnauthorized (or errWrongAccount) when it refuses it, any
// other error when it could not be asked.
func (a Account) check(ctx context.Context, password string) error {
	c, err := a.Open(password)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	name, _, err := c.WhoAmI(ctx)
	if err != nil {
		return err
	}
	if name != a.User {
		return fmt.Errorf("%w: %s, not %s", errWrongAccount, name, a.User)
	}
	return nil
}

// refused tells a check's answer "the device refuses this password" from "it could not
// be asked".
func refused(err error) bool {
	return errors.Is(err, vapix.ErrUnauthorized) || errors.Is(err, errWrongAccount)
}

// Settle finds out which password the device takes and returns it, stored as current:
// the pending one (if any) first, since a device that took it refuses the current one,
// then the current one, which drops the pending one. A device that refuses both is
// ErrRefused; one that cannot be asked changes nothing, so that the next use settles.
func Settle(ctx context.Context, a Account) (string, error) {
	current, pending, err := a.Store.Passwords(a.Serial)
	if err != nil {
		return "", fmt.Errorf("the agent's passwords for %s: %w", a.Serial, err)
	}
	if pending != "" {
		err := a.check(ctx, pending)
		if err == nil {
			if err := a.Store.SetPassword(a.Serial, pending, false); err != nil {
				return "", fmt.Errorf("store the password %s takes: %w", a.Serial, err)
			}
			return pending, nil
		}
		if !refused(err) {
			return "", fmt.Errorf("ask %s which password of the agent's account it takes: %w", a.Serial, err)
		}
	}
	err = a.check(ctx, current)
	switch {
	case err == nil:
		if pending != "" {
			if err := a.Store.SetPassword(a.Serial, current, false); err != nil {
				return "", fmt.Errorf("drop the password %s did not take: %w", a.Serial, err)
			}
		}
		return current, nil
	case refused(err):
		return "", fmt.Errorf("%s: %w", a.Serial, ErrRefused)
	}
	return "", fmt.Errorf("ask %s whether it takes the agent's account: %w", a.Serial, err)
}

// Rotate gives the account a new password, logged in as the account itself. A pending
// password left by an earlier rotation is settled first: if the device took it, that
// rotation went through and Rotate is done. Progress hears each step (nil: none).
func Rotate(ctx context.Context, a Account, progress func(string)) error {
	_, pending, err := a.Store.Passwords(a.Serial)
	if err != nil {
		return fmt.Errorf("the agent's passwords for %s: %w", a.Serial, err)
	}
	current, err := Settle(ctx, a)
	if err != nil {
		return err
	}
	if pending != "" && current == pending {
		return nil // an earlier rotation went through
	}
	c, err := a.Open(current)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	next := NewPassword()
	if err := a.Store.SetPassword(a.Serial, next, true); err != nil {
		return fmt.Errorf("store the new password of %s as pending: %w", a.Serial, err)
	}
	if progress != nil {
		progress("setting the new password")
	}
	changeErr := c.UpdateUser(ctx, a.User, next, "")
	return a.confirm(ctx, next, true, changeErr, func(password string) error {
		return a.Store.SetPassword(a.Serial, password, false)
	})
}

// TakeOver makes the account on the device with an admin account (or, when it exists
// already, gives it a new password) and calls keep with the new password once the device
// takes it; keep stores it as current (with whatever record the caller keeps of the
// device). When stored, the agent already holds a password for this account, and the new
// one is stored pending before the device learns it, so that a device that took it but
// whose answer was lost is settled later (Settle).
func TakeOver(ctx context.Context, a Account, admin *vapix.Client, stored bool, keep func(password string) error) error {
	next := NewPassword()
	if stored {
		if err := a.Store.SetPassword(a.Serial, next, true); err != nil {
			return fmt.Errorf("store the new password of %s as pending: %w", a.Serial, err)
		}
	}
	changeErr := admin.AddUser(ctx, a.User, next, vapix.RoleAdmin, "camcloud agent")
	if changeErr != nil {
		changeErr = admin.UpdateUser(ctx, a.User, next, vapix.RoleAdmin)
	}
	return a.confirm(ctx, next, stored, changeErr, keep)
}

// confirm ends a password change, whatever its answer was (changeErr): the device says
// whether it takes next. If it does, keep makes next current; if it refuses next and
// takes the current password (stored: the agent has one), next is dropped; otherwise (it
// cannot be asked, or takes neither) both stay, for Settle.
func (a Account) confirm(ctx context.Context, next string, stored bool, changeErr error, keep func(string) error) error {
	err := a.check(ctx, next)
	if err == nil {
		if err := keep(next); err != nil {
			return fmt.Errorf("store the password %s took: %w", a.Serial, err)
		}
		return nil
	}
	if stored && refused(err) {
		if current, _, perr := a.Store.Passwords(a.Serial); perr == nil && a.check(ctx, current) == nil {
			if err := a.Store.SetPassword(a.Serial, current, false); err != nil {
				return fmt.Errorf("drop the password %s did not take: %w", a.Serial, err)
			}
		}
	}
	if changeErr != nil {
		return fmt.Errorf("change the password of the agent's account on %s: %w", a.Serial, changeErr)
	}
	return fmt.Errorf("the device %s answered the password change but does not take the new password: %w", a.Serial, err)
}

// Devstore is the Store of an agent's device store, for an agent without a fleet
// manager running yet (devicehost before it starts).
func Devstore(st *devstore.Store) Store { return devstoreStore{st} }

type devstoreStore struct{ st *devstore.Store }

func (s devstoreStore) Passwords(serial string) (string, string, error) {
	d, err := s.st.Device(serial)
	if err != nil {
		return "", "", err
	}
	current, err := s.st.Password(d)
	if err != nil {
		return "", "", err
	}
	pending, err := s.st.Pending(d)
	return current, pending, err
}

func (s devstoreStore) SetPassword(serial, password string, pending bool) error {
	return s.st.SetPassword(serial, password, pending)
}
