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
	"sync"
	"time"
)

// ServiceType is what Axis cameras announce.
const ServiceType = "_axis-video._tcp"

// Camera is what one announcement says.
type Camera struct {
	Serial        string // 12 upper-case hex digits
	ProdShortName string // AXIS P3265-V
	// Name is the DNS-SD instance name (Network.Bonjour.FriendlyName); empty means
	// "<ProdShortName> - <SERIAL>", see Instance.
	Name string
	IP   string // the address the camera answers on
	Port int    // its HTTP port
}

// Instance is the DNS-SD instance name: Name, or "<ProdShortName> - <SERIAL>" as AXIS OS
// before 12 announces it (12.x drops the serial; the TXT record always has it).
func (c Camera) Instance() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ProdShortName + " - " + c.Serial
}

// HostName is axis-<serial in lower case>.local.
func (c Camera) HostName() string { return "axis-" + strings.ToLower(c.Serial) + ".local." }

// Announcement is one camera on the network until Close.
type Announcement struct {
	cam      Camera
	instance string // the name announced, made unique among this process's announcements
	rec      *records
	resps    []*responder
	again    *time.Timer // the second announcement

	closeOnce sync.Once
}

// Instance is the instance name announced. Two cameras of the same model on AXIS OS 12
// share a friendly name; the second is announced as "<name> #2", as a DNS-SD responder
// renames a service whose name is taken.
func (a *Announcement) Instance() string {
	if a == nil {
		return ""
	}
	return a.instance
}

var (
	namesMu sync.Mutex
	names   = map[string]bool{} // instance names announced by this process, lower case
)

// claimName returns name, or name #2, #3, ... when another announcement has it.
func claimName(name string) string {
	namesMu.Lock()
	defer namesMu.Unlock()
	try := name
	for i := 2; names[strings.ToLower(try)]; i++ {
		try = fmt.Sprintf("%s #%d", name, i)
	}
	names[strings.ToLower(try)] = true
	return try
}

func releaseName(name string) {
	namesMu.Lock()
	delete(names, strings.ToLower(name))
	namesMu.Unlock()
}

// Announce starts answering mDNS queries for the camera on ifaces (nil: loopback only)
// and announces it: at once and again a second later (RFC 6762 section 8.3).
func Announce(c Camera, ifaces []net.Interface) (*Announcement, error) {
	if len(c.Serial) != 12 || c.Port <= 0 || c.Port > 65535 || net.ParseIP(c.IP) == nil {
		return nil, fmt.Errorf("mdns: announce %+v: need a 12-digit serial, a port and an IP", c)
	}
	if ifaces == nil {
		lo, err := Loopback()
		if err != nil {
			return nil, err
		}
		ifaces = []net.Interface{lo}
	}
	a := &Announcement{cam: c, instance: claimName(c.Instance())}
	a.rec = newRecords(c, a.instance)
	for _, ifi := range ifaces {
		r, err := responders.Acquire(ifi)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("mdns: announce %s: %w", c.Serial, err)
		}
		a.resps = append(a.resps, r)
		r.add(a)
		r.announce(a.rec, false)
	}
	a.again = time.AfterFunc(time.Second, func() {
		for _, r := range a.resps {
			r.announce(a.rec, false)
		}
	})
	return a, nil
}

// Close sends goodbye packets and stops answering.
func (a *Announcement) Close() {
	if a == nil {
		return
	}
	a.closeOnce.Do(func() {
		if a.again != nil {
			a.again.Stop()
		}
		for _, r := range a.resps {
			r.remove(a)
			r.announce(a.rec, true)
			responders.Release(r.ifi)
		}
		releaseName(a.instance)
	})
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
