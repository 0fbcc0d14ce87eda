package fleet

import (
	"bytes"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/egress"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// recordTTL is how long Target trusts a device's cached record without reading the
// store: every EdgeLink call would otherwise read the store and unseal the password.
// Changes the agent makes itself (a new password, a new address, a take-over, forgetting
// the device) drop the cache at once.
const recordTTL = 10 * time.Second

// conn is what the manager keeps of one device: where it was reached, the agent's
// account on it (the password as stored and opened) and a VAPIX client with it. It is
// valid while the address and the stored account stay.
type conn struct {
	addr, user string
	sealed     []byte // the password as stored: a new one is sealed anew
	password   string
	c          *vapix.Client
	read       time.Time // when the record was last read from the store
}

// addr is where device d is now: as discovery last saw it, else its stored address.
func (m *Manager) addr(d devstore.Device) string {
	if found, ok := m.find(d.Serial); ok && found.Addr != "" {
		return found.Addr
	}
	return d.Address
}

// conn is the device's cached connection for record d at addr, made anew when either
// changed.
func (m *Manager) conn(d devstore.Device, addr string) (*conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.conns[d.Serial]; ok && c.addr == addr && c.user == d.User && bytes.Equal(c.sealed, d.SealedPassword) {
		c.read = time.Now()
		return c, nil
	}
	pass, err := m.cfg.Store.Password(d)
	if err != nil {
		return nil, err
	}
	vc, err := m.account(d, addr).Open(pass)
	if err != nil {
		return nil, err
	}
	if old, ok := m.conns[d.Serial]; ok {
		old.c.CloseIdleConnections()
	}
	c := &conn{addr: addr, user: d.User, sealed: d.SealedPassword, password: pass, c: vc, read: time.Now()}
	m.conns[d.Serial] = c
	return c, nil
}

// client is a VAPIX client with the agent's account on d at addr.
func (m *Manager) client(d devstore.Device, addr string) (*vapix.Client, error) {
	c, err := m.conn(d, addr)
	if err != nil {
		return nil, err
	}
	return c.c, nil
}

// forgetConn drops a device's cached connection after the agent changed its record.
func (m *Manager) forgetConn(serial string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.conns[serial]; ok {
		c.c.CloseIdleConnections()
		delete(m.conns, serial)
	}
}

// Target is where a managed device is and the agent's account on it, for EdgeLink
// (egress.Devices): only devices this agent manages are reachable.
func (m *Manager) Target(serial string) (egress.Target, bool) {
	m.mu.Lock()
	c, ok := m.conns[serial]
	fresh := ok && time.Since(c.read) < recordTTL
	m.mu.Unlock()
	if fresh {
		if found, seen := m.find(serial); !seen || found.Addr == "" || found.Addr == c.addr {
			return egress.Target{Addr: c.addr, User: c.user, Password: c.password}, true
		}
	}
	d, err := m.cfg.Store.Device(serial)
	if err != nil {
		return egress.Target{}, false
	}
	c, err = m.conn(d, m.addr(d))
	if err != nil {
		m.cfg.Logger.Warn("EdgeLink: device credentials", "serial", serial, "err", err)
		return egress.Target{}, false
	}
	return egress.Target{Addr: c.addr, User: c.user, Password: c.password}, true
}
