package camsim

import (
	"strconv"
	"strings"

	"github.com/opencamcloud/camcloud/simulators/mdns"
	"github.com/opencamcloud/camcloud/simulators/ssdp"
)

// Discovery as the camera's firmware does it (vapix.md section 16): the mDNS instance
// name and whether UPnP (SSDP) is on follow the AXIS OS generation the camera runs.

// firmwareMajor is the major version of an AXIS OS version string (12 for 12.11.77).
func firmwareMajor(version string) int {
	major, _, _ := strings.Cut(version, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// defaultBonjourName is Network.Bonjour.FriendlyName out of the box: "AXIS P3265-V" on
// AXIS OS 12, "AXIS M1065-LW - ACCC12345678" before.
func (c *Camera) defaultBonjourName(st *State) string {
	if firmwareMajor(st.Firmware.Version) >= 12 {
		return c.id.Model.ProdShortName()
	}
	return c.id.Model.ProdShortName() + " - " + c.id.Serial
}

// defaultUPnP is Network.UPnP.Enabled out of the box: off on AXIS OS 12, on before.
func defaultUPnP(st *State) string {
	return yesNoOf(firmwareMajor(st.Firmware.Version) < 12)
}

// setting is a writable parameter's value in st: what was set, else its default.
func setting(st *State, name, def string) string {
	if v, ok := st.Params[name]; ok {
		return v
	}
	return def
}

// mdnsCamera is what the camera announces over mDNS now, and whether it announces at all
// (Network.Bonjour.Enabled). Called with c.mu held.
func (c *Camera) mdnsCamera(ip string, port int) (mdns.Camera, bool) {
	st := &c.st
	on := setting(st, "Network.Bonjour.Enabled", "yes") == "yes"
	return mdns.Camera{
		Serial:        c.id.Serial,
		ProdShortName: c.id.Model.ProdShortName(),
		Name:          setting(st, "Network.Bonjour.FriendlyName", c.defaultBonjourName(st)),
		IP:            ip,
		Port:          port,
	}, on
}

// MDNSInstance is the DNS-SD instance name the camera announces now ("" when it does not
// announce).
func (c *Camera) MDNSInstance() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ann.Instance()
}

// advertiseSSDP starts the camera's SSDP presence when the fleet has SSDP. Whether the
// camera answers is Network.UPnP.Enabled at the moment a search arrives, so a parameter
// update turns it on or off at once. Called with c.mu held.
func (c *Camera) advertiseSSDP() *ssdp.Advertisement {
	if c.cfg.ssdpIfaces == nil {
		return nil
	}
	host, port, _ := splitHostPort(c.addr)
	m := c.id.Model
	st := &c.st
	dev := ssdp.Device{
		Serial:        c.id.Serial,
		ProdNbr:       m.ProdNbr,
		ProdShortName: m.ProdShortName(),
		ProdFullName:  m.ProdFullName,
		FriendlyName:  setting(st, "Network.UPnP.FriendlyName", m.ProdShortName()+" - "+c.id.Serial),
		IP:            host,
		HTTPPort:      port,
		Enabled: func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return setting(&c.st, "Network.UPnP.Enabled", defaultUPnP(&c.st)) == "yes"
		},
	}
	ad, err := ssdp.Advertise(dev, c.cfg.ssdpIfaces, c.log)
	if err != nil {
		c.log.Warn("SSDP", "err", err)
		return nil
	}
	go ad.Announce() // it reads Network.UPnP.Enabled, under the lock held here
	return ad
}
