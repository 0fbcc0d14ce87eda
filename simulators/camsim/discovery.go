package camsim

import (
	"strconv"
	"strings"

	"github.com/opencamcloud/camcloud/simulators/mdns"
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
