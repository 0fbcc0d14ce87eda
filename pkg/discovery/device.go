package discovery

import (
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// Source says how a device was last found.
type Source string

// The ways a device is found.
const (
	SourceMDNS   Source = "mdns"   // announced over mDNS/DNS-SD (_axis-video._tcp)
	SourceManual Source = "manual" // added by address (Watcher.Add)
	SourceScan   Source = "scan"   // found by probing an address range (Watcher.Scan)
)

// Device is a camera found on the local network.
type Device struct {
	Serial string // 12 upper-case hex digits (on Axis devices the serial is the MAC)
	Addr   string // host:port of the camera's HTTP (VAPIX) endpoint
	Source Source // how it was last found
	Name   string // mDNS instance name, if any

	// What the device tells anyone (basicdeviceinfo.cgi getAllUnrestrictedProperties,
	// no credentials needed).
	Model        string // ProdNbr, e.g. P3265-V
	ProdFullName string // e.g. AXIS P3265-V Dome Camera
	ProdType     string // e.g. Dome Camera
	HardwareID   string
	Firmware     string // AXIS OS version
	Brand        string

	// Enriched is true once the facts above were read from the device. EnrichError is
	// the error of the last attempt to read them, if it failed: a device that does not
	// answer over HTTP is still listed, with Enriched false. After a failed refresh an
	// enriched device keeps its last facts and carries the error too.
	Enriched    bool
	EnrichError string

	FirstSeen time.Time // when this watcher first found it (again, after it was gone)
	LastSeen  time.Time // the last announcement or successful probe
}

// EventKind says what happened to a device.
type EventKind string

// The kinds of events.
const (
	EventAppeared EventKind = "appeared" // found (again), with its facts or the enrichment error
	EventChanged  EventKind = "changed"  // same serial, new address or new facts
	EventGone     EventKind = "gone"     // not seen for Config.GoneAfter and not answering
)

// Event is a change in the set of devices.
type Event struct {
	Kind   EventKind
	Device Device // as it is after the change (as it was last known, for gone)
}

// setFacts copies what the device reported into d and says whether anything an event
// reports on changed.
func (d *Device) setFacts(info vapix.DeviceInfo) (changed bool) {
	next := *d
	next.Model = info.ProdNbr
	next.ProdFullName = info.ProdFullName
	next.ProdType = info.ProdType
	next.HardwareID = info.HardwareID
	next.Firmware = info.Version
	next.Brand = info.Brand
	next.Enriched = true
	next.EnrichError = ""
	changed = next.facts() != d.facts()
	*d = next
	return changed
}

// facts are the fields whose change is an EventChanged.
type facts struct {
	model, prodFullName, prodType, hardwareID, firmware, brand string
	enriched                                                   bool
}

func (d *Device) facts() facts {
	return facts{d.Model, d.ProdFullName, d.ProdType, d.HardwareID, d.Firmware, d.Brand, d.Enriched}
}
