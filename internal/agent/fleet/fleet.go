// Package fleet is what an edge host does with the cameras on its network: it lists what
// discovery found, onboards devices (creating its own VAPIX account on each, kept sealed
// in devstore, so that the admin credentials are used once and never stored), and polls
// the managed devices for the state the relay's inventory shows: AXIS OS version,
// applications, and the drift and difference from each device's profile.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/discovery"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

// Finder lists the devices found on the network (a *discovery.Watcher).
type Finder interface {
	Devices() []discovery.Device
	Device(serial string) (discovery.Device, bool)
	Add(ctx context.Context, addr string) (discovery.Device, error)
}

// Config is what a Manager needs.
type Config struct {
	Store  *devstore.Store // required
	Finder Finder          // nil: nothing is discovered (devices are reached at their stored address)
	// Account is the name of the VAPIX account the agent makes on each device.
	Account string
	// Concurrency bounds the devices polled or onboarded at once (default 16).
	Concurrency int
	// Timeout bounds each VAPIX call (default 10 s).
	Timeout time.Duration
	// TasksJournal is the task engine's journal file; empty: the agent runs no tasks.
	TasksJournal string
	// ArtifactDir keeps release files fetched from the relay.
	ArtifactDir string
	// TaskConcurrency bounds the tasks running at once (default 16).
	TaskConcurrency int
	// RebootWait bounds waiting for a device to come back from a reboot (default 5 min).
	RebootWait time.Duration
	// Snapshot, when set, is a file the manager writes the devices' state to after each
	// inventory, for `status` commands (the store is locked while the agent runs).
	Snapshot string
	Logger   *slog.Logger
	Now      func() time.Time
	// DialControl, when set, is the net.Dialer Control function of the manager's
	// connections to devices (polling, tasks, onboarding with the admin account): it
	// sees the resolved address and may refuse it (edgehost --allow-device-net).
	DialControl func(network, address string, c syscall.RawConn) error
}

// Files of the task engine in an agent's data directory.
const (
	TasksFile   = "tasks.db"  // the journal
	ArtifactDir = "artifacts" // release files fetched from the relay, verified
)

// SnapshotFile, in an agent's data directory, is the devices' state as last read.
const SnapshotFile = "inventory.json"

// InDataDir sets the task engine's files and the snapshot in an agent's data directory.
func (c *Config) InDataDir(dataDir string) {
	c.TasksJournal = filepath.Join(dataDir, TasksFile)
	c.ArtifactDir = filepath.Join(dataDir, ArtifactDir)
	c.Snapshot = filepath.Join(dataDir, SnapshotFile)
}

// Manager manages an edge host's devices. Run must be running for onboarding to proceed.
type Manager struct {
	cfg       Config
	sem       chan struct{}
	changed   chan struct{}
	inventory chan struct{} // the managed devices changed (InventoryChanged)

	admins  adminCreds // of onboarding tasks not yet started
	mu      sync.Mutex
	running bool             // Run is under way; onboarding tasks may be submitted
	ran     bool             // Run was called: a Manager runs once
	conns   map[string]*conn // by serial: one per device, for polls, tasks and EdgeLink

	discoveryChanged atomic.Bool

	lastInventory []linkapi.DeviceReport // guarded by mu

	engine *taskengine.Engine // nil without Config.TasksJournal
	relay  relayClient        // the link's client, once the link is made
}

// New makes a Manager and opens its task engine's journal (Config.TasksJournal), into
// which it moves the onboarding tasks an older agent kept in the device store.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("fleet: Config.Store is required")
	}
	if cfg.Account == "" {
		cfg.Account = "camcloud"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency), changed: make(chan struct{}, 1), inventory: make(chan struct{}, 1), conns: map[string]*conn{}}
	if err := m.openEngine(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return m, nil
}

// Run runs the task engine (onboarding among its tasks) until ctx is done, then waits
// for its tasks to stop and closes the engine's journal.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.ran {
		m.mu.Unlock()
		return errors.New("fleet: Run called twice")
	}
	m.ran, m.running = true, true
	m.mu.Unlock()
	if m.engine != nil {
		_ = m.engine.Run(ctx)
		_ = m.engine.Close()
	} else {
		<-ctx.Done()
	}
	m.mu.Lock()
	m.running = false
	for _, c := range m.conns {
		c.c.CloseIdleConnections()
	}
	m.mu.Unlock()
	return nil
}

// Changed is signalled when there is something new to report (a task moved, a device
// was onboarded).
func (m *Manager) Changed() <-chan struct{} { return m.changed }

// InventoryChanged is signalled when the set of managed devices changed: a device was
// onboarded and the relay has the task's success (TasksReported), or one was forgotten.
// The inventory is due.
func (m *Manager) InventoryChanged() <-chan struct{} { return m.inventory }

// inventoryDue signals InventoryChanged.
func (m *Manager) inventoryDue() {
	select {
	case m.inventory <- struct{}{}:
	default:
	}
}

// OnDiscovery takes a discovery event (discovery.Config.OnEvent): the discoveries
// changed, and the next report to the relay sends them (agent.Fleet.Discovered).
func (m *Manager) OnDiscovery(ev discovery.Event) {
	m.cfg.Logger.Debug("discovery", "event", ev.Kind, "serial", ev.Device.Serial, "address", ev.Device.Addr)
	m.discoveriesChanged()
}

// discoveriesChanged marks the discoveries as due for the relay.
func (m *Manager) discoveriesChanged() {
	m.discoveryChanged.Store(true)
	m.notify()
}

// DiscoveryChanged reports whether discoveries changed since it was last asked.
func (m *Manager) DiscoveryChanged() bool { return m.discoveryChanged.Swap(false) }

func (m *Manager) notify() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// Discovered lists the devices found on the network, marking those this agent manages;
// nil for an agent that does not discover (on a camera).
func (m *Manager) Discovered() []linkapi.DiscoveredDevice {
	if m.cfg.Finder == nil {
		return nil
	}
	managed := map[string]bool{}
	if ds, err := m.cfg.Store.Devices(); err == nil {
		for _, d := range ds {
			managed[d.Serial] = true
		}
	}
	found := m.cfg.Finder.Devices()
	out := make([]linkapi.DiscoveredDevice, 0, len(found))
	for _, d := range found {
		out = append(out, linkapi.DiscoveredDevice{
			Serial: d.Serial, Address: d.Addr, Source: string(d.Source), Model: d.Model, ProdFullName: d.ProdFullName,
			HardwareID: d.HardwareID, Firmware: d.Firmware, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen,
			Onboarded: managed[d.Serial],
		})
	}
	return out
}

// find is where the device with serial is now: as discovery last saw it, else "".
func (m *Manager) find(serial string) (discovery.Device, bool) {
	if m.cfg.Finder == nil {
		return discovery.Device{}, false
	}
	return m.cfg.Finder.Device(serial)
}

// ApplyConfig takes the relay's modes and profiles for the devices this agent manages.
func (m *Manager) ApplyConfig(configs []linkapi.DeviceConfig) {
	for _, c := range configs {
		err := m.cfg.Store.UpdateDevice(c.Serial, func(d *devstore.Device) {
			d.Mode, d.Profile = c.Mode, c.Profile
			// Logins before the later of the two clocks' "managed since" are not drift:
			// the agent's own (set after onboarding's admin session) or the relay's (set
			// when an admin made the device managed again).
			if c.ManagedSince.After(d.ManagedSince) {
				d.ManagedSince = c.ManagedSince
			}
		})
		if err != nil && !errors.Is(err, devstore.ErrNotFound) {
			m.cfg.Logger.Warn("apply device config", "serial", c.Serial, "err", err)
		}
	}
}
