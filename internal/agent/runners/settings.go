package runners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/agent/account"
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

// rotateAccount gives the agent's account on the device a new password, by the
// protocol of package account: the new password is pending until the device takes it,
// and a pending one left by an earlier attempt is settled first.
func (r *runners) rotateAccount(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	if err := decode(t, nil); err != nil {
		return nil, err
	}
	a, err := r.cfg.Devices.Account(ctx, t.Serial)
	if err != nil {
		return nil, err
	}
	if err := account.Rotate(ctx, a, progress); err != nil {
		if errors.Is(err, account.ErrRefused) {
			return nil, fmt.Errorf("%w; onboard it again", err)
		}
		return nil, err
	}
	return result(map[string]any{"rotated": true}), nil
}
