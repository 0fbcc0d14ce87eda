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
	after, err := r.waitUp(ctx, c, sr.BootID)
	if err != nil {
		return nil, err
	}
	return result(map[string]any{"bootId": after.BootID, "restarted": true}), nil
}

// rotateAccount gives the agent's account on the device a new password. The new password
// is stored (sealed, pending) before the device learns it, so that a crash in between
// leaves a password that works: on resume the pending one is tried first.
func (r *runners) rotateAccount(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	if err := decode(t, nil); err != nil {
		return nil, err
	}
	devs := r.cfg.Devices
	_, pending, err := devs.Passwords(t.Serial)
	if err != nil {
		return nil, err
	}
	if pending != "" { // a rotation was under way: did the device take it?
		if err := devs.SetPassword(t.Serial, pending, false); err != nil {
			return nil, err
		}
		c, err := devs.Client(ctx, t.Serial)
		if err == nil {
			if _, _, err = c.WhoAmI(ctx); err == nil {
				return result(map[string]any{"rotated": true}), nil
			}
		}
		var verr *vapix.HTTPError
		if !errors.As(err, &verr) || verr.Status != 401 {
			return nil, err
		}
		return nil, fmt.Errorf("the device took neither the old nor the new password of the agent's account; onboard it again")
	}
	c, err := devs.Client(ctx, t.Serial)
	if err != nil {
		return nil, err
	}
	user, _, err := c.WhoAmI(ctx)
	if err != nil {
		return nil, err
	}
	next := NewPassword()
	if err := devs.SetPassword(t.Serial, next, true); err != nil {
		return nil, err
	}
	progress("setting the new password")
	if err := c.UpdateUser(ctx, user, next, ""); err != nil {
		return nil, err
	}
	if err := devs.SetPassword(t.Serial, next, false); err != nil {
		return nil, err
	}
	nc, err := devs.Client(ctx, t.Serial)
	if err != nil {
		return nil, err
	}
	if _, _, err := nc.WhoAmI(ctx); err != nil {
		return nil, fmt.Errorf("the new password does not work: %w", err)
	}
	return result(map[string]any{"rotated": true}), nil
}
