package camsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults are the misbehaviours a camera can be told to show. The zero value is a healthy
// camera.
type Faults struct {
	// Latency is added before every VAPIX answer.
	Latency time.Duration
	// ErrorRate is the fraction (0..1) of VAPIX requests answered 500 Internal Server Error.
	ErrorRate float64
	// DropRate is the fraction (0..1) of VAPIX requests whose connection is closed without
	// an answer.
	DropRate float64
	// UpgradeFailRate is the fraction (0..1) of firmware upgrades that fail after the image
	// was received (fwmgr error 500), so the camera keeps its old firmware.
	UpgradeFailRate float64
	// RebootDelay, when not zero, replaces the fleet's reboot time: how long a reboot keeps
	// the camera from answering (a slow reboot).
	RebootDelay time.Duration
	// OAKUnavailable makes oak.cgi answer error 1100, as a camera without internet access does.
	OAKUnavailable bool
}

// ParseFaults reads the --fault syntax: comma-separated key=value pairs, for example
// "latency=50ms,errors=0.05,drop=0.01,upgrade-fail=0.05,reboot=30s,oak-unavailable".
// An empty string is no fault.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	var errs []error
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, hasVal := strings.Cut(item, "=")
		if !hasVal && key != "oak-unavailable" {
			errs = append(errs, fmt.Errorf("fault %q: missing =value", item))
			continue
		}
		var err error
		switch key {
		case "latency":
			f.Latency, err = time.ParseDuration(val)
		case "errors":
			f.ErrorRate, err = parseRate(val)
		case "drop":
			f.DropRate, err = parseRate(val)
		case "upgrade-fail":
			f.UpgradeFailRate, err = parseRate(val)
		case "reboot":
			f.RebootDelay, err = time.ParseDuration(val)
		case "oak-unavailable":
			f.OAKUnavailable = !hasVal || val == "true" || val == "1"
		default:
			err = errors.New("unknown fault (want latency, errors, drop, upgrade-fail, reboot, oak-unavailable)")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("fault %q: %w", item, err))
		}
	}
	return f, errors.Join(errs...)
}

func parseRate(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, err
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("rate %s outside 0..1 (or 0%%..100%%)", s)
	}
	return v, nil
}

// String writes the faults back in the --fault syntax.
func (f Faults) String() string {
	var parts []string
	if f.Latency > 0 {
		parts = append(parts, "latency="+f.Latency.String())
	}
	if f.ErrorRate > 0 {
		parts = append(parts, "errors="+strconv.FormatFloat(f.ErrorRate, 'g', -1, 64))
	}
	if f.DropRate > 0 {
		parts = append(parts, "drop="+strconv.FormatFloat(f.DropRate, 'g', -1, 64))
	}
	if f.UpgradeFailRate > 0 {
		parts = append(parts, "upgrade-fail="+strconv.FormatFloat(f.UpgradeFailRate, 'g', -1, 64))
	}
	if f.RebootDelay > 0 {
		parts = append(parts, "reboot="+f.RebootDelay.String())
	}
	if f.OAKUnavailable {
		parts = append(parts, "oak-unavailable")
	}
	return strings.Join(parts, ",")
}

// faultBox holds a camera's current faults; the control API changes them while it runs.
type faultBox struct {
	mu sync.Mutex
	f  Faults
}

func (b *faultBox) get() Faults {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.f
}

func (b *faultBox) set(f Faults) {
	b.mu.Lock()
	b.f = f
	b.mu.Unlock()
}

// chance reports true with probability p.
func chance(p float64) bool { return p > 0 && rand.Float64() < p }
