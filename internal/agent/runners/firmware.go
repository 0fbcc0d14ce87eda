package runners

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Progress details the firmware runner journals; a resumed task reads them back.
const (
	stepUploading = "uploading "
	stepRebooting = "rebooting into "
)

// firmware brings the device to the release's AXIS OS version. The image is uploaded at
// most once per attempt that reaches the device: before uploading, the runner journals
// that it does; a resumed task that got that far first waits for the device to come back
// and checks its version, and uploads only if the image never took.
func (r *runners) firmware(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	var p taskkind.FirmwareParams
	c, err := r.open(ctx, t, &p)
	if err != nil {
		return nil, err
	}
	if t.Resumed != nil && (strings.HasPrefix(*t.Resumed, stepUploading) || strings.HasPrefix(*t.Resumed, stepRebooting)) {
		// The image may have reached the device before the agent stopped: let a reboot
		// into it finish before judging.
		if v, ok := r.settle(ctx, c, p.Version); ok {
			return result(map[string]any{"version": v, "uploaded": false, "note": "the image sent before the agent restarted took effect"}), nil
		}
	}
	st, err := r.status(ctx, c)
	if err != nil {
		return nil, err
	}
	if st.ActiveFirmwareVersion == p.Version {
		return result(map[string]any{"version": p.Version, "uploaded": false}), nil
	}
	if p.Artifact.SHA256 == "" {
		return nil, fmt.Errorf("no release file for AXIS OS %s", p.Version)
	}
	f, err := r.openArtifact(ctx, p.Artifact, progress)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sr, err := c.SystemReady(ctx, 0)
	if err != nil {
		return nil, err
	}
	progress(stepUploading + p.Version)
	opts := vapix.UpgradeOptions{AutoCommit: "boot", FactoryDefaultMode: p.FactoryDefault}
	if _, err := c.UpgradeFirmware(ctx, f, p.Artifact.Size, opts, nil); err != nil {
		return nil, err
	}
	progress(stepRebooting + p.Version)
	if _, err := r.waitRebooted(ctx, c, sr); err != nil {
		return nil, err
	}
	after, err := c.FirmwareStatus(ctx)
	if err != nil {
		return nil, err
	}
	if after.ActiveFirmwareVersion != p.Version {
		return nil, fmt.Errorf("the device runs %s after the upgrade, not %s (it rolled back or refused the image)", after.ActiveFirmwareVersion, p.Version)
	}
	return result(map[string]any{"version": p.Version, "from": st.ActiveFirmwareVersion, "uploaded": true}), nil
}

// status reads the firmware status, waiting for a device that is rebooting.
func (r *runners) status(ctx context.Context, c *vapix.Client) (vapix.FirmwareStatus, error) {
	st, err := c.FirmwareStatus(ctx)
	if err == nil {
		return st, nil
	}
	if _, werr := r.waitUp(ctx, c, ""); werr != nil {
		return st, fmt.Errorf("%w (and the device did not come back: %v)", err, werr)
	}
	return c.FirmwareStatus(ctx)
}

// waitRebooted waits, within RebootWait, until the device is ready in a boot after the
// one before describes (the SystemReady answer from before the call that rebooted it).
// Comparing boot IDs alone would take an answer of the old boot for the new one on
// firmware that reports none, as a device goes on answering for a moment after it
// agreed to reboot.
func (r *runners) waitRebooted(ctx context.Context, c *vapix.Client, before vapix.SystemReady) (vapix.SystemReady, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RebootWait)
	defer cancel()
	return c.WaitRebooted(ctx, before)
}

// settle watches a device that may be about to reboot into version, for a while; it
// reports the version once the device runs it.
func (r *runners) settle(ctx context.Context, c *vapix.Client, version string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, min(r.cfg.RebootWait, 2*time.Minute))
	defer cancel()
	stable := 0
	for {
		st, err := c.FirmwareStatus(ctx)
		switch {
		case err == nil && st.ActiveFirmwareVersion == version:
			return version, true
		case err == nil:
			// Answering on the old version: a reboot still to come, or none at all.
			// A few quiet polls in a row say none.
			if stable++; stable >= 20 {
				return st.ActiveFirmwareVersion, false
			}
		default:
			stable = 0 // rebooting
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-time.After(250 * time.Millisecond):
		}
	}
}
