package camsim

import (
	"fmt"
	"hash/fnv"
	"time"
)

// onBoot applies what takes effect when the camera starts: an accepted firmware image (or
// a rollback to the inactive one) and the factory default that may come with it. Called
// with the camera's lock held, on a copy of the state that boot then saves.
func (c *Camera) onBoot(st *State) {
	now := c.now()
	fw := &st.Firmware
	if c.rebooting {
		fw.ResetSource = "reboot"
	} else {
		fw.ResetSource = "power-on"
	}
	p := fw.Pending
	if p == nil {
		return
	}
	fw.Pending = nil
	if p.Rollback {
		if fw.Inactive == "" {
			return
		}
		fw.Version, fw.Inactive = fw.Inactive, fw.Version
		fw.BuildDate = p.BuildDate
		fw.Part = firmwarePart(fw.Version)
		fw.Committed = true
		fw.RollbackAt = time.Time{}
		return
	}
	fw.Inactive = fw.Version
	fw.Version = p.Version
	fw.BuildDate = p.BuildDate
	fw.Part = firmwarePart(p.Version)
	fw.LastUpgradeAt = now.UTC().Truncate(time.Second)
	if p.AutoRollbackMinutes > 0 && p.AutoCommit != "boot" {
		fw.Committed = false
		fw.RollbackAt = now.Add(time.Duration(p.AutoRollbackMinutes) * c.cfg.minute)
	} else {
		fw.Committed = true
		fw.RollbackAt = time.Time{}
	}
	switch p.FactoryDefaultMode {
	case "soft", "hard":
		c.factoryDefaultLocked(st)
	}
}

// factoryDefaultLocked resets settings, apps, overlays and PTZ; the fleet's admin account
// is kept so the simulator stays reachable (a real hard reset would leave no account and
// systemready would report needsetup=yes).
func (c *Camera) factoryDefaultLocked(st *State) {
	def := defaultState(c.id, c.cfg.user, c.cfg.password)
	st.Params = def.Params
	st.Users = def.Users
	st.Apps = nil
	st.Overlays = nil
	st.NextOverlay = max(st.NextOverlay, 1)
	st.PTZ = def.PTZ
}

// scheduleBootTimers arms the automatic rollback of an uncommitted upgrade. Called with the
// camera's lock held, right after boot.
func (c *Camera) scheduleBootTimers() {
	fw := c.st.Firmware
	if fw.Committed || fw.RollbackAt.IsZero() {
		return
	}
	bootID := c.bootID
	wait := fw.RollbackAt.Sub(c.now())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTimer(max(wait, 0))
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.quit:
			return
		}
		rollback := false
		_ = c.update(func(st *State) error {
			if c.bootID != bootID || st.Firmware.Committed || st.Firmware.RollbackAt.IsZero() {
				return fmt.Errorf("no rollback due")
			}
			st.Firmware.Pending = &PendingFirmware{Rollback: true, BuildDate: st.Firmware.BuildDate}
			rollback = true
			return nil
		})
		if rollback {
			c.log.Info("upgrade not committed in time: rolling back")
			c.Reboot()
		}
	}()
}

// firmwarePart is the activeFirmwarePart number of an image: stable per version.
func firmwarePart(version string) string {
	h := fnv.New32a()
	h.Write([]byte(version))
	return fmt.Sprintf("%d", 5000000000+int64(h.Sum32()))
}
