package fleet

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Inventory polls every managed device (at most Config.Concurrency at once) and reports
// its state: reachable or not, AXIS OS version, applications, and the drift and
// difference from its profile.
func (m *Manager) Inventory(ctx context.Context) ([]linkapi.DeviceReport, error) {
	devices, err := m.cfg.Store.Devices()
	if err != nil {
		return nil, err
	}
	out := make([]linkapi.DeviceReport, len(devices))
	var wg sync.WaitGroup
	for i, d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case m.sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = linkapi.DeviceReport{Serial: d.Serial, Model: d.Model, Address: d.Address}
				return
			}
			defer func() { <-m.sem }()
			out[i] = m.poll(ctx, d)
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	m.mu.Lock()
	m.lastInventory = out
	m.mu.Unlock()
	if err := m.writeSnapshot(out); err != nil {
		m.cfg.Logger.Warn("write the inventory snapshot", "err", err)
	}
	return out, nil
}

// poll reads one device's state; a device that does not answer is reported unreachable.
func (m *Manager) poll(ctx context.Context, d devstore.Device) linkapi.DeviceReport {
	addr := m.addr(d)
	if addr != d.Address { // it moved: follow it
		_ = m.cfg.Store.UpdateDevice(d.Serial, func(r *devstore.Device) { r.Address = addr })
	}
	rep := linkapi.DeviceReport{Serial: d.Serial, Model: d.Model, Address: addr, Profile: d.Profile.Name}
	log := m.cfg.Logger.With("serial", d.Serial, "address", addr)
	c, err := m.client(d, addr)
	if err != nil {
		log.Warn("device client", "err", err)
		return rep
	}
	info, err := c.DeviceInfo(ctx)
	if errors.Is(err, vapix.ErrUnauthorized) {
		if nd, ok := m.settlePending(ctx, d, addr, log); ok {
			d = nd
			if c, err = m.client(d, addr); err != nil {
				log.Warn("device client", "err", err)
				return rep
			}
			info, err = c.DeviceInfo(ctx)
		}
	}
	if err != nil {
		log.Debug("device unreachable", "err", err)
		return rep
	}
	rep.Reachable, rep.Model, rep.HardwareID, rep.FirmwareVersion = true, info.ProdNbr, info.HardwareID, info.Version
	// A part that cannot be read is named unread: compared with the profile as empty, it
	// would show every required app missing and every parameter different.
	st := profile.State{OSVersion: info.Version}
	unread := func(part, what string, err error) {
		log.Warn(what, "err", err)
		st.Unread = append(st.Unread, part)
	}
	apps, err := c.Apps(ctx)
	if err != nil {
		unread(profile.PartApps, "list applications", err)
	}
	for _, a := range apps {
		st.Apps = append(st.Apps, profile.InstalledApp{Name: a.Name, Version: a.Version,
			Running: strings.EqualFold(a.Status, "Running"), Bundled: a.IsBundled()})
	}
	rep.Apps = st.Apps
	if len(d.Profile.Params) > 0 {
		names := make([]string, 0, len(d.Profile.Params))
		for k := range d.Profile.Params {
			names = append(names, strings.TrimPrefix(k, "root."))
		}
		values, err := c.ParamMap(ctx, names...)
		if err != nil {
			unread(profile.PartParams, "read parameters", err)
		}
		st.Params = map[string]string{}
		for k, v := range values {
			st.Params[strings.TrimPrefix(k, "root.")] = v
		}
	}
	if d.Profile.Overlay != "" {
		overlays, err := c.TextOverlays(ctx, 0)
		if err != nil {
			unread(profile.PartOverlays, "list overlays", err)
		}
		for _, o := range overlays {
			st.Overlays = append(st.Overlays, o.Text)
		}
	}
	entries, err := c.SystemLog(ctx)
	if err != nil {
		unread(profile.PartLog, "read system log", err)
	}
	for _, e := range entries {
		l, ok := e.Login()
		if ok && l.Privilege == "admin" && l.User != d.User && e.Time.After(d.ManagedSince) {
			st.Logins = append(st.Logins, profile.Login{User: l.User, From: l.From, At: e.Time})
		}
	}
	rep.Drift = profile.DriftOf(d.Profile, st)
	rep.Diff = profile.Diff(d.Profile, st)
	rep.Unread = st.Unread
	return rep
}
