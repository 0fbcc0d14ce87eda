// Package runners are the edge host's task runners: one per task kind (package
// taskkind), each built on pkg/vapix. Every runner looks at the device first, so that
// running a task again after a crash is safe: an upgrade to the version the device
// already runs succeeds without uploading, an application already installed is not sent
// again, a reboot already done is not done twice.
package runners

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Devices reaches the devices the agent manages with its own account.
type Devices interface {
	Client(ctx context.Context, serial string) (*vapix.Client, error)
	// Account is the agent's account on a device, for changing its password.
	Account(ctx context.Context, serial string) (account.Account, error)
}

// Config is what the runners need.
type Config struct {
	Devices   Devices
	Artifacts *Artifacts
	// RebootWait bounds waiting for a device to come back after a reboot (default 5 min).
	RebootWait time.Duration
}

// New returns a runner for every task kind.
func New(cfg Config) map[string]taskengine.Runner {
	if cfg.RebootWait <= 0 {
		cfg.RebootWait = 5 * time.Minute
	}
	r := &runners{cfg: cfg}
	return map[string]taskengine.Runner{
		taskkind.Firmware:      taskengine.RunnerFunc(r.firmware),
		taskkind.AppInstall:    taskengine.RunnerFunc(r.appInstall),
		taskkind.AppStart:      taskengine.RunnerFunc(r.appControl),
		taskkind.AppStop:       taskengine.RunnerFunc(r.appControl),
		taskkind.AppRemove:     taskengine.RunnerFunc(r.appControl),
		taskkind.Params:        taskengine.RunnerFunc(r.params),
		taskkind.Overlay:       taskengine.RunnerFunc(r.overlay),
		taskkind.Restart:       taskengine.RunnerFunc(r.restart),
		taskkind.RotateAccount: taskengine.RunnerFunc(r.rotateAccount),
	}
}

type runners struct {
	cfg Config
}

// decode reads a task's parameters, checked as the relay checked them.
func decode(t taskengine.Task, v any) error {
	if err := taskkind.Validate(t.Kind, t.Params); err != nil {
		return fmt.Errorf("task parameters: %w", err)
	}
	if len(t.Params) == 0 {
		return nil
	}
	return json.Unmarshal(t.Params, v)
}

// open reads a task's parameters into v (nil: it takes none) and returns a client for
// its device with the agent's account.
func (r *runners) open(ctx context.Context, t taskengine.Task, v any) (*vapix.Client, error) {
	if err := decode(t, v); err != nil {
		return nil, err
	}
	return r.cfg.Devices.Client(ctx, t.Serial)
}

// result encodes a runner's result.
func result(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// waitUp waits until the device answers and is ready (it may be rebooting), within
// RebootWait.
func (r *runners) waitUp(ctx context.Context, c *vapix.Client, prevBoot string) (vapix.SystemReady, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RebootWait)
	defer cancel()
	return c.WaitReady(ctx, prevBoot)
}

// openArtifact fetches a release file (verified against its hash and the relay's
// signature) and opens it for upload; the caller closes it.
func (r *runners) openArtifact(ctx context.Context, a taskkind.Artifact, progress func(string)) (*os.File, error) {
	progress("fetching release " + a.Release)
	path, err := r.cfg.Artifacts.Fetch(ctx, a)
	if err != nil {
		return nil, err
	}
	return os.Open(path)
}
