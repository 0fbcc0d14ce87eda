package fleet

import "github.com/opencamcloud/camcloud/internal/agent/egress"

// Target is where a managed device is and the agent's account on it, for EdgeLink
// (egress.Devices): only devices this agent manages are reachable.
func (m *Manager) Target(serial string) (egress.Target, bool) {
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
	return egress.Target{Addr: addr, User: d.User, Password: pass}, true
}
