package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

// What the edge host's own API (package graph) asks of the manager.

// localTaskPrefix marks the IDs of tasks made on the edge host itself.
const localTaskPrefix = "tsk_local_"

// LastInventory is the devices' state as the last inventory read it.
func (m *Manager) LastInventory() []linkapi.DeviceReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]linkapi.DeviceReport(nil), m.lastInventory...)
}

// PollDevice reads one managed device now.
func (m *Manager) PollDevice(ctx context.Context, serial string) (linkapi.DeviceReport, bool) {
	d, err := m.cfg.Store.Device(serial)
	if err != nil {
		return linkapi.DeviceReport{}, false
	}
	return m.poll(ctx, d), true
}

// Modes are the managed devices' modes by serial.
func (m *Manager) Modes() map[string]string {
	out := map[string]string{}
	ds, _ := m.cfg.Store.Devices()
	for _, d := range ds {
		out[d.Serial] = d.Mode
	}
	return out
}

// AddAddress probes an address and lists the camera found there.
func (m *Manager) AddAddress(ctx context.Context, addr string) (linkapi.DiscoveredDevice, error) {
	if m.cfg.Finder == nil {
		return linkapi.DiscoveredDevice{}, errors.New("this edge host does not discover devices")
	}
	d, err := m.cfg.Finder.Add(ctx, addr)
	if err != nil {
		return linkapi.DiscoveredDevice{}, err
	}
	m.discoveriesChanged()
	for _, found := range m.Discovered() {
		if found.Serial == d.Serial {
			return found, nil
		}
	}
	return linkapi.DiscoveredDevice{Serial: d.Serial, Address: d.Addr, Source: string(d.Source), Model: d.Model, Firmware: d.Firmware}, nil
}

// TaskRecords lists the engine's tasks.
func (m *Manager) TaskRecords() ([]taskengine.Record, error) {
	if m.engine == nil {
		return nil, nil
	}
	return m.engine.List()
}

// RunLocalTask runs a task made on the edge host itself (through its own API); it is
// reported to the relay like the others. Software tasks need the relay's release
// catalog and are refused here.
func (m *Manager) RunLocalTask(kind, serial string, params json.RawMessage) (taskengine.Record, error) {
	if m.engine == nil {
		return taskengine.Record{}, errors.New("this agent runs no tasks")
	}
	if kind == taskkind.Firmware || kind == taskkind.AppInstall {
		return taskengine.Record{}, fmt.Errorf("%s needs a release file from the relay's catalog: create a job at the relay", kind)
	}
	if err := taskkind.Validate(kind, params); err != nil {
		return taskengine.Record{}, err
	}
	if _, err := m.cfg.Store.Device(serial); err != nil {
		return taskengine.Record{}, fmt.Errorf("device %s is not managed by this edge host", serial)
	}
	id := newTaskID()
	return m.engine.Submit(taskengine.Task{ID: localTaskPrefix + strings.TrimPrefix(id, "tsk_"), Attempt: 1, Kind: kind, Serial: serial, Params: params})
}
