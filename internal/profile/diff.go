package profile

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is what an agent read from a device, in the terms of a profile.
type State struct {
	OSVersion string
	Apps      []InstalledApp
	// Params holds the current values of the parameters the profile sets.
	Params map[string]string
	// Overlays are the texts of the device's text overlays.
	Overlays []string
	// Logins are login sessions of admin accounts other than the agent's own since the
	// device came under management.
	Logins []Login
	// Unread names the parts (PartApps...) that could not be read: Diff and DriftOf say
	// nothing about them, rather than compare the profile with an empty state.
	Unread []string
}

// Parts of a device's state, read separately; the AXIS OS version is read with the
// device's identity, so a device that answered at all has it.
const (
	PartApps     = "apps"     // installed applications
	PartParams   = "params"   // parameter values
	PartOverlays = "overlays" // text overlays
	PartLog      = "log"      // the system log, where admin logins show
)

func (s State) read(part string) bool { return !slices.Contains(s.Unread, part) }

// InstalledApp is an application on the device.
type InstalledApp struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Running bool   `json:"running"`
	// Bundled marks an application that comes with AXIS OS (list.cgi Bundled="Yes", e.g.
	// vmd on 12.x): part of the OS, never drift nor something to remove.
	Bundled bool `json:"bundled,omitempty"`
}

// Login is an admin login session seen in the device's log.
type Login struct {
	User string    `json:"user"`
	From string    `json:"from"`
	At   time.Time `json:"at"`
}

// Change is one step between a device's state and its profile.
type Change struct {
	// Kind: os, app-install, app-upgrade, app-start, app-stop, app-remove, param, overlay.
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"` // application or parameter name
	Want   string `json:"want,omitempty"`
	Have   string `json:"have,omitempty"`
}

// Part is the part of the device's state the change is about ("" for the OS).
func (c Change) Part() string {
	switch {
	case strings.HasPrefix(c.Kind, "app-"):
		return PartApps
	case c.Kind == "param":
		return PartParams
	case c.Kind == "overlay":
		return PartOverlays
	}
	return ""
}

func (c Change) String() string {
	s := c.Kind
	if c.Target != "" {
		s += " " + c.Target
	}
	if c.Have != "" || c.Want != "" {
		s += fmt.Sprintf(": %q -> %q", c.Have, c.Want)
	}
	return s
}

// Diff lists what would bring a device in state s to profile p, in a stable order; of the
// parts s could not read, nothing.
func Diff(p Profile, s State) []Change {
	var out []Change
	if p.OSVersion != "" && p.OSVersion != s.OSVersion {
		out = append(out, Change{Kind: "os", Want: p.OSVersion, Have: s.OSVersion})
	}
	if s.read(PartApps) {
		out = append(out, appChanges(p, s)...)
	}
	if s.read(PartParams) {
		keys := make([]string, 0, len(p.Params))
		for k := range p.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			have, want := s.Params[strings.TrimPrefix(k, "root.")], p.Params[k]
			if have != want {
				out = append(out, Change{Kind: "param", Target: strings.TrimPrefix(k, "root."), Want: want, Have: have})
			}
		}
	}
	if s.read(PartOverlays) && p.Overlay != "" && !slices.Contains(s.Overlays, p.Overlay) {
		out = append(out, Change{Kind: "overlay", Want: p.Overlay})
	}
	return out
}

// appChanges are the changes of the applications.
func appChanges(p Profile, s State) []Change {
	var out []Change
	installed := map[string]InstalledApp{}
	for _, a := range s.Apps {
		installed[a.Name] = a
	}
	for _, want := range p.Apps {
		have, ok := installed[want.Name]
		switch {
		case !ok:
			out = append(out, Change{Kind: "app-install", Target: want.Name, Want: want.Version})
			continue
		case want.Version != "" && want.Version != have.Version:
			out = append(out, Change{Kind: "app-upgrade", Target: want.Name, Want: want.Version, Have: have.Version})
		}
		switch {
		case want.Running && !have.Running:
			out = append(out, Change{Kind: "app-start", Target: want.Name})
		case !want.Running && have.Running:
			out = append(out, Change{Kind: "app-stop", Target: want.Name})
		}
	}
	for _, a := range s.Apps {
		if !a.Bundled && !p.requires(a.Name) {
			out = append(out, Change{Kind: "app-remove", Target: a.Name, Have: a.Version})
		}
	}
	return out
}

func (p Profile) requires(app string) bool {
	return slices.ContainsFunc(p.Apps, func(a App) bool { return a.Name == app })
}

// Drift causes: why a managed device is no longer under management.
const (
	DriftOSOffTrack     = "os-off-track"
	DriftUnexpectedApp  = "unexpected-app"
	DriftLocalAdminUsed = "local-admin-login"
)

// Drift is one reason a managed device must switch to connected.
type Drift struct {
	Cause  string    `json:"cause"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at,omitzero"` // when it happened, where the device says
}

// Part is the part of the device's state the drift was seen in ("" for the OS).
func (d Drift) Part() string {
	switch d.Cause {
	case DriftUnexpectedApp:
		return PartApps
	case DriftLocalAdminUsed:
		return PartLog
	}
	return ""
}

// DriftOf lists the drift of a device in state s from profile p: its OS off the profile's
// track (or off every supported track when the profile names none), an application the
// profile does not list (other than one bundled with AXIS OS), or a login session of
// another admin account; of the parts s could not read, nothing.
func DriftOf(p Profile, s State) []Drift {
	var out []Drift
	if s.OSVersion != "" {
		track := TrackOf(s.OSVersion)
		switch {
		case track == "":
			out = append(out, Drift{Cause: DriftOSOffTrack, Detail: fmt.Sprintf("AXIS OS %s is on neither the active track nor an LTS track", s.OSVersion)})
		case p.OSTrack != "" && track != p.OSTrack:
			out = append(out, Drift{Cause: DriftOSOffTrack, Detail: fmt.Sprintf("AXIS OS %s is on track %s, the profile wants %s", s.OSVersion, track, p.OSTrack)})
		}
	}
	for _, a := range s.Apps {
		if !a.Bundled && !p.requires(a.Name) && s.read(PartApps) {
			out = append(out, Drift{Cause: DriftUnexpectedApp, Detail: fmt.Sprintf("application %s %s is not in profile %s", a.Name, a.Version, p.Name)})
		}
	}
	for _, l := range s.Logins {
		if s.read(PartLog) {
			out = append(out, Drift{Cause: DriftLocalAdminUsed, Detail: fmt.Sprintf("local admin account %s logged in from %s", l.User, l.From), At: l.At})
		}
	}
	return out
}

// KeepUnread is what a report that could not read the parts in unread says, merged with
// what was known before it (last): the entries of the parts it read, and the last known
// ones of the parts it did not, which it says nothing about.
func KeepUnread[T interface{ Part() string }](last, report []T, unread []string) []T {
	if len(unread) == 0 {
		return report
	}
	var out []T
	for _, x := range report {
		if !slices.Contains(unread, x.Part()) {
			out = append(out, x)
		}
	}
	for _, x := range last {
		if slices.Contains(unread, x.Part()) {
			out = append(out, x)
		}
	}
	return out
}
