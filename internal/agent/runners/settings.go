package runners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// params sets parameters; the device applies all or none.
func (r *runners) params(ctx context.Context, t taskengine.Task, _ func(string)) (json.RawMessage, error) {
	var p taskkind.ParamsParams
	c, err := r.open(ctx, t, &p)
	if err != nil {
		return nil, err
	}
	if err := c.SetParams(ctx, p.Values); err != nil {
		return nil, err
	}
	return result(map[string]any{"set": len(p.Values)}), nil
}

// overlay adds a text overlay unless the device shows that text already.
func (r *runners) overlay(ctx context.Context, t taskengine.Task, _ func(string)) (json.RawMessage, error) {
	var p taskkind.OverlayParams
	c, err := r.open(ctx, t, &p)
	if err != nil {
		return nil, err
	}
	list, err := c.TextOverlays(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, o := range list {
		if o.Text == p.Text {
			return result(map[string]any{"identity": o.Identity, "added": false}), nil
		}
	}
	id, err := c.AddTextOverlay(ctx, vapix.TextOverlay{Camera: 1, Text: p.Text})
	if err != nil {
		return nil, err
	}
	return result(map[string]any{"identity": id, "added": true}), nil
}

const stepRestart = "restarting from boot "

// restart reboots the device and waits for it; a resumed task whose device already
// booted anew since the restart was asked does not reboot it again.
func (r *runners) restart(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	c, err := r.open(ctx, t, nil)
	if err != nil {
		return nil, err
	}
	sr, err := r.waitUp(ctx, c, "")
	if err != nil {
		return nil, err
	}
	if t.Resumed != nil {
		if prev, ok := strings.CutPrefix(*t.Resumed, stepRestart); ok && prev != sr.BootID {
			return result(map[string]any{"bootId": sr.BootID, "restarted": true}), nil
		}
	}
	progress(stepRestart + sr.BootID)
	if err := c.Reboot(ctx); err != nil {
		return nil, err
	}
	after, err := r.waitRebooted(ctx, c, sr)
	if err != nil {
		return nil, err
	}
	return result(map[string]any{"bootId": after.BootID, "restarted": true}), nil
}

// rotateAccount gives the agent's account on the device a new password. The new password
// is stored (sealed, pending) before the device learns it, so that a change the device
// applied but whose answer was lost (a timeout, a crash) leaves a password that works.
//
// A pending password found at the start is settled first, by the device: the account
// has one password, so a device that still takes the current one never took the pending
// one (dropped; the rotation starts anew), and one that refuses the current one (401)
// took the pending one, which becomes current. A device that cannot be asked fails the
// task with both passwords kept, for the next attempt to settle. (The runner reaches the
// device with the current password only, so that is the one it asks about; it is never
// replaced while the device may still take it.)
func (r *runners) rotateAccount(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	if err := decode(t, nil); err != nil {
		return nil, err
	}
	devs := r.cfg.Devices
	current, pending, err := devs.Passwords(t.Serial)
	if err != nil {
		return nil, err
	}
	c, err := devs.Client(ctx, t.Serial)
	if err != nil {
		return nil, err
	}
	user, _, err := c.WhoAmI(ctx)
	switch {
	case pending == "":
		if err != nil {
			return nil, err
		}
	case err == nil: // the device still takes the current password: it never took the pending one
		if err := devs.SetPassword(t.Serial, current, false); err != nil {
			return nil, fmt.Errorf("drop the password the device did not take: %w", err)
		}
	case errors.Is(err, vapix.ErrUnauthorized): // an earlier rotation went through
		if err := confirm(ctx, devs, t.Serial, pending); err != nil {
			if errors.Is(err, vapix.ErrUnauthorized) {
				return nil, fmt.Errorf("the device takes neither the current nor the pending password of the agent's account; onboard it again")
			}
			return nil, err
		}
		return result(map[string]any{"rotated": true}), nil
	default:
		return nil, fmt.Errorf("ask the device which password of the agent's account it takes: %w", err)
	}
	next := NewPassword()
	if err := devs.SetPassword(t.Serial, next, true); err != nil {
		return nil, err
	}
	progress("setting the new password")
	if err := c.UpdateUser(ctx, user, next, ""); err != nil {
		return nil, fmt.Errorf("set the new password (left pending, for the next attempt to settle): %w", err)
	}
	err = confirm(ctx, devs, t.Serial, next)
	if errors.Is(err, vapix.ErrUnauthorized) {
		// The device answered the change but refuses the new password: if it still takes
		// the old one, that one stays current and the new one pending, to be settled.
		if _, _, oerr := c.WhoAmI(ctx); oerr == nil {
			if err := devs.SetPassword(t.Serial, current, false); err != nil {
				return nil, err
			}
			if err := devs.SetPassword(t.Serial, next, true); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("the device answered the password change but still takes only the old password")
		}
	}
	if err != nil {
		return nil, err
	}
	return result(map[string]any{"rotated": true}), nil
}

// confirm makes a password the device took the current one and checks that the device
// takes it. Only a password the device took becomes current: one whose change it
// accepted, or the pending one once it refuses the current one.
func confirm(ctx context.Context, devs Devices, serial, password string) error {
	if err := devs.SetPassword(serial, password, false); err != nil {
		return err
	}
	c, err := devs.Client(ctx, serial)
	if err != nil {
		return err
	}
	if _, _, err := c.WhoAmI(ctx); err != nil {
		return fmt.Errorf("the new password of the agent's account does not work: %w", err)
	}
	return nil
}
