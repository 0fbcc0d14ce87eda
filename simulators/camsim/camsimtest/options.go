package camsimtest

import (
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// camsimRebootDelay keeps reboots short in tests; real devices take 30 to 120 s.
const camsimRebootDelay = 300 * time.Millisecond

// WithState keeps the cameras' state in dir, so a second Start with the same dir finds
// the same cameras as they were left.
func WithState(dir string) func(*camsim.Config) {
	return func(c *camsim.Config) { c.StateDir = dir }
}

// WithFaults applies faults to every camera from the start.
func WithFaults(f camsim.Faults) func(*camsim.Config) {
	return func(c *camsim.Config) { c.Faults = f }
}

// WithRebootDelay sets how long a reboot keeps a camera offline.
func WithRebootDelay(d time.Duration) func(*camsim.Config) {
	return func(c *camsim.Config) { c.RebootDelay = d }
}

// WithRollbackMinute shortens fwmgr's autoRollback minute.
func WithRollbackMinute(d time.Duration) func(*camsim.Config) {
	return func(c *camsim.Config) { c.RollbackMinute = d }
}
