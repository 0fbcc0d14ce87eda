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
}

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

// Diff lists what would bring a device in state s to profile p, in a stable order.
func Diff(p Profile, s State) []Change {
	var out []Change
	if p.OSVersion != "" && p.OSVersion != s.OSVersion {
		out = append(out, Change{Kind: "os", Want: p.OSVersion, Have: s.OSVersion})
	}
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
	if p.Overlay != "" && !slices.Contains(s.Overlays, p.Overlay) {
		out = append(out, Change{Kind: "overlay", Want: p.Overlay})
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

// DriftOf lists the drift of a device in state s from profile p: its OS off the profile's
// track (or off every supported track when the profile names none), an application the
// profile does not list (other than one bundled with AXIS OS), or a login session of
// another admin account.
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
		if !a.Bundled && !p.requires(a.Name) {
			out = append(out, Drift{Cause: DriftUnexpectedApp, Detail: fmt.Sprintf("application %s %s is not in profile %s", a.Name, a.Version, p.Name)})
		}
	}
	for _, l := range s.Logins {
		out = append(out, Drift{Cause: DriftLocalAdminUsed, Detail: fmt.Sprintf("local admin account %s logged in from %s", l.User, l.From), At: l.At})
	}
	return out
}
