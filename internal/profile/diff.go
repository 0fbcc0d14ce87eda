package profile

import (
	"encoding/json"
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
	if p.OSVersion != "" && p.OSVersion != LatestOS && p.OSVersion != s.OSVersion {
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

// Drift is one reason a managed device must switch to connected: one entry per cause and
// detail, however often it happened (an admin who logged in five times is one entry
// with count 5).
type Drift struct {
	Cause  string `json:"cause"`
	Detail string `json:"detail"`
	// FirstSeen and LastSeen bound when it was seen: for what the device dates (a login
	// session), its first and last occurrence as the device says; for a state (the AXIS
	// OS version, an application), when the relay first and last heard of it (zero in an
	// agent's report).
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	// Count is how many times it happened (login sessions); 1 for a state.
	Count int `json:"count"`
}

// UnmarshalJSON also reads the single time ("at") of earlier agents and stored records,
// so that nothing needs rewriting: it is both the first and the last time seen.
func (d *Drift) UnmarshalJSON(b []byte) error {
	type plain Drift
	var v struct {
		plain
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	*d = Drift(v.plain)
	if d.FirstSeen.IsZero() && d.LastSeen.IsZero() && !v.At.IsZero() {
		d.FirstSeen, d.LastSeen = v.At, v.At
	}
	d.Count = max(d.Count, 1)
	return nil
}

// dated reports whether the drift is an event the device dates (LastSeen set by the
// agent) rather than a state.
func (d Drift) dated() bool { return !d.LastSeen.IsZero() }

// GroupDrift makes one entry per cause and detail of drift: counts added up, and the
// earliest first and latest last time of the entries merged. The order is that of each
// entry's first appearance.
func GroupDrift(drift []Drift) []Drift {
	var out []Drift
	index := map[[2]string]int{}
	for _, d := range drift {
		d.Count = max(d.Count, 1)
		key := [2]string{d.Cause, d.Detail}
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, d)
			continue
		}
		g := &out[i]
		g.Count += d.Count
		g.FirstSeen = earliest(g.FirstSeen, d.FirstSeen)
		g.LastSeen = latest(g.LastSeen, d.LastSeen)
	}
	return out
}

// MergeDrift is what the relay keeps of a device's drift after a report: the report's
// entries (GroupDrift), each dated with what was known of it before (last). A state
// keeps the time it was first heard of and is last seen now; an event keeps its first
// occurrence and the larger count, since the device's log may have rotated older
// sessions out of what the agent read.
func MergeDrift(last, report []Drift, now time.Time) []Drift {
	before := map[[2]string]Drift{}
	for _, d := range GroupDrift(last) {
		before[[2]string{d.Cause, d.Detail}] = d
	}
	out := GroupDrift(report)
	for i := range out {
		d := &out[i]
		prev, seen := before[[2]string{d.Cause, d.Detail}]
		if !d.dated() {
			d.FirstSeen, d.LastSeen, d.Count = now, now, 1
			if seen && !prev.FirstSeen.IsZero() {
				d.FirstSeen = prev.FirstSeen
			}
			continue
		}
		if seen {
			d.FirstSeen = earliest(d.FirstSeen, prev.FirstSeen)
			d.LastSeen = latest(d.LastSeen, prev.LastSeen)
			d.Count = max(d.Count, prev.Count)
		}
	}
	return out
}

// earliest is the earlier of two times, a zero one not counting.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// latest is the later of two times.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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
			out = append(out, Drift{Cause: DriftOSOffTrack, Detail: fmt.Sprintf("AXIS OS %s is on neither the active track nor an LTS track", s.OSVersion), Count: 1})
		case p.OSTrack != "" && track != p.OSTrack:
			out = append(out, Drift{Cause: DriftOSOffTrack, Detail: fmt.Sprintf("AXIS OS %s is on track %s, the profile wants %s", s.OSVersion, track, p.OSTrack), Count: 1})
		}
	}
	for _, a := range s.Apps {
		if !a.Bundled && !p.requires(a.Name) && s.read(PartApps) {
			out = append(out, Drift{Cause: DriftUnexpectedApp, Detail: fmt.Sprintf("application %s %s is not in profile %s", a.Name, a.Version, p.Name), Count: 1})
		}
	}
	if s.read(PartLog) {
		// One entry per account and address, however many sessions: a person who signs
		// in every morning is one reason, seen from the first session to the last.
		var logins []Drift
		for _, l := range s.Logins {
			logins = append(logins, Drift{Cause: DriftLocalAdminUsed, Detail: fmt.Sprintf("local admin account %s logged in from %s", l.User, l.From),
				FirstSeen: l.At, LastSeen: l.At, Count: 1})
		}
		out = append(out, GroupDrift(logins)...)
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
