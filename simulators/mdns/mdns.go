// Package mdns announces simulated cameras over mDNS/DNS-SD the way Axis devices do
// (vapix.md section 16): service type _axis-video._tcp on the HTTP port, host name
// axis-<serial in lower case>.local, and the TXT key macaddress=<SERIAL> (12 upper-case
// hex digits, which clients must rely on rather than the instance name).
//
// Announcements go only out of the interfaces given; tests run them inside a network
// namespace of their own, so multicast never leaves the machine.
package mdns

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/grandcat/zeroconf"
)

// ServiceType is what Axis cameras announce.
const ServiceType = "_axis-video._tcp"

// Camera is what one announcement says.
type Camera struct {
	Serial        string // 12 upper-case hex digits
	ProdShortName string // AXIS P3265-V
	IP            string // the address the camera answers on
	Port          int    // its HTTP port
}

// Instance is the DNS-SD instance name: "<ProdShortName> - <SERIAL>" as older AXIS OS
// versions announce it (newer ones drop the serial; the TXT record always has it).
func (c Camera) Instance() string { return c.ProdShortName + " - " + c.Serial }

// HostName is axis-<serial in lower case>.local.
func (c Camera) HostName() string { return "axis-" + strings.ToLower(c.Serial) + ".local." }

// Announcement is one camera on the network until Close.
type Announcement struct {
	srv *zeroconf.Server
}

// Announce starts answering mDNS queries for the camera on ifaces (nil: loopback only)
// and sends the initial announcements.
func Announce(c Camera, ifaces []net.Interface) (*Announcement, error) {
	if len(c.Serial) != 12 || c.Port <= 0 || net.ParseIP(c.IP) == nil {
		return nil, fmt.Errorf("mdns: announce %+v: need a 12-digit serial, a port and an IP", c)
	}
	if ifaces == nil {
		lo, err := Loopback()
		if err != nil {
			return nil, err
		}
		ifaces = []net.Interface{lo}
	}
	// zeroconf appends the domain to the host name itself.
	host := strings.TrimSuffix(c.HostName(), ".local.")
	srv, err := zeroconf.RegisterProxy(c.Instance(), ServiceType, "local.", c.Port, host, []string{c.IP},
		[]string{"macaddress=" + c.Serial}, ifaces)
	if err != nil {
		return nil, fmt.Errorf("mdns: announce %s: %w", c.Serial, err)
	}
	return &Announcement{srv: srv}, nil
}

// Close sends goodbye packets and stops answering.
func (a *Announcement) Close() {
	if a != nil && a.srv != nil {
		a.srv.Shutdown()
		a.srv = nil
	}
}

// Loopback finds the loopback interface, which must have multicast enabled
// (`ip link set lo multicast on`) for announcements to work on it.
func Loopback() (net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return net.Interface{}, fmt.Errorf("mdns: %w", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			if i.Flags&net.FlagMulticast == 0 {
				return i, errors.New("mdns: loopback interface has multicast off (ip link set lo multicast on)")
			}
			return i, nil
		}
	}
	return net.Interface{}, errors.New("mdns: no loopback interface")
}

// InterfaceByName returns the named interface, checked for multicast.
func InterfaceByName(name string) (net.Interface, error) {
	if name == "" || name == "lo" {
		return Loopback()
	}
	i, err := net.InterfaceByName(name)
	if err != nil {
		return net.Interface{}, fmt.Errorf("mdns: %w", err)
	}
	if i.Flags&net.FlagMulticast == 0 {
		return *i, fmt.Errorf("mdns: interface %s has multicast off", name)
	}
	return *i, nil
}
