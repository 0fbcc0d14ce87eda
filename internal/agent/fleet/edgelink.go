package fleet

import (
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/egress"
)

// targetTTL is how long a device's EdgeLink target is kept in memory: every call would
// otherwise read the store and unseal the password. Changes the agent makes itself (a
// new password, a new address) drop it at once.
const targetTTL = 10 * time.Second

type cachedTarget struct {
	t  egress.Target
	at time.Time
}

// Target is where a managed device is and the agent's account on it, for EdgeLink
// (egress.Devices): only devices this agent manages are reachable.
func (m *Manager) Target(serial string) (egress.Target, bool) {
	m.mu.Lock()
	c, ok := m.targets[serial]
	m.mu.Unlock()
	if ok && time.Since(c.at) < targetTTL {
		if found, seen := m.find(serial); !seen || found.Addr == "" || found.Addr == c.t.Addr {
			return c.t, true
		}
	}
	d, err := m.cfg.Store.Device(serial)
	if err != nil {
		return egress.Target{}, false
	}
	pass, err := m.cfg.Store.Password(d)
	if err != nil {
		m.cfg.Logger.Warn("EdgeLink: device credentials", "serial", serial, "err", err)
		return egress.Target{}, false
	}
	addr := d.Address
	if found, ok := m.find(serial); ok && found.Addr != "" {
		addr = found.Addr
	}
	t := egress.Target{Addr: addr, User: d.User, Password: pass}
	m.mu.Lock()
	m.targets[serial] = cachedTarget{t: t, at: time.Now()}
	m.mu.Unlock()
	return t, true
}

// forgetTarget drops a device's cached EdgeLink target after the agent changed it.
func (m *Manager) forgetTarget(serial string) {
	m.mu.Lock()
	delete(m.targets, serial)
	m.mu.Unlock()
}
