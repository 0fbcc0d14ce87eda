// Package profile is the device profile model: the system composition (AXIS OS version or
// track, ACAP applications, parameters, a text overlay) an organization wants its devices
// to have; how a device's actual state differs from it; and the drift that takes a
// managed device out of management (managed -> connected). The relay stores profiles and
// the agent, which sees the devices, computes differences and drift with this package.
package profile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Profile is what a device should run.
type Profile struct {
	Name string `json:"name"`
	// OSTrack is the AXIS OS track the device must stay on: "active", an LTS track such
	// as "lts-2024", or empty for any supported track (see TrackOf).
	OSTrack string `json:"osTrack,omitempty"`
	// OSVersion, when set, is the exact version the device should run (within OSTrack),
	// or LatestOS: the newest published on OSTrack for the device's model.
	OSVersion string `json:"osVersion,omitempty"`
	// Apps are the ACAP applications the device must have; any other installed
	// application, except those bundled with AXIS OS, is drift.
	Apps []App `json:"apps,omitempty"`
	// Params are parameter values (names without "root."), e.g. "Image.I0.Appearance.Resolution".
	Params map[string]string `json:"params,omitempty"`
	// Overlay, when set, is a text overlay the device should show.
	Overlay string `json:"overlay,omitempty"`
	// Default marks the organization's default profile, used at onboarding when none is named.
	Default bool `json:"default,omitempty"`
}

// App is an application a profile requires.
type App struct {
	Name    string `json:"name"`              // package name as list.cgi shows it
	Version string `json:"version,omitempty"` // empty: any version
	Running bool   `json:"running"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	versionRE = regexp.MustCompile(`^\d+(\.\d+){1,3}$`)
	appRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,26}$`)
	paramRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$`)
)

// Validate checks a profile and says what is wrong with each field.
func (p Profile) Validate() error {
	var errs []error
	bad := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	if !nameRE.MatchString(p.Name) {
		bad("name", fmt.Errorf("name %q: 1 to 63 lower-case letters, digits, '.', '_' or '-'", p.Name))
	}
	if p.OSTrack != "" && !KnownTrack(p.OSTrack) {
		bad("osTrack", fmt.Errorf("osTrack %q: want one of %s", p.OSTrack, strings.Join(Tracks(), ", ")))
	}
	if p.OSVersion == LatestOS {
		if p.OSTrack == "" {
			bad("osVersion", errors.New(`osVersion "latest" needs an osTrack: the newest release of which track?`))
		}
	} else if p.OSVersion != "" {
		if !versionRE.MatchString(p.OSVersion) {
			bad("osVersion", fmt.Errorf("osVersion %q: want a version such as 11.11.124", p.OSVersion))
		} else if p.OSTrack != "" && TrackOf(p.OSVersion) != p.OSTrack {
			bad("osVersion", fmt.Errorf("osVersion %s is not on track %s", p.OSVersion, p.OSTrack))
		}
	}
	seen := map[string]bool{}
	for _, a := range p.Apps {
		switch {
		case !appRE.MatchString(a.Name):
			bad("apps", fmt.Errorf("app %q: a package name of up to 26 letters, digits, '_', '.' or '-'", a.Name))
		case seen[a.Name]:
			bad("apps", fmt.Errorf("app %q listed twice", a.Name))
		case a.Version != "" && !versionRE.MatchString(a.Version):
			bad("apps", fmt.Errorf("app %s version %q: want a version such as 1.2.3", a.Name, a.Version))
		}
		seen[a.Name] = true
	}
	for k, v := range p.Params {
		if !paramRE.MatchString(strings.TrimPrefix(k, "root.")) || len(k) > 200 {
			bad("params", fmt.Errorf("param %q: want a dotted parameter name such as Image.I0.Appearance.Resolution", k))
		}
		if len(v) > 1000 || strings.ContainsAny(v, "\r\n") {
			bad("params", fmt.Errorf("param %s: value must be one line of at most 1000 bytes", k))
		}
	}
	if len(p.Overlay) > 200 || strings.ContainsAny(p.Overlay, "\r\n") {
		bad("overlay", errors.New("overlay: one line of at most 200 bytes"))
	}
	return errors.Join(errs...)
}

// FieldError is what Validate finds wrong with one field of a profile (named as in its
// JSON form), so that an API can say which field a person must correct.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors lists the fields an error of Validate names, in the order it found them.
func FieldErrors(err error) []*FieldError {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else if err != nil {
		list = []error{err}
	}
	var out []*FieldError
	for _, e := range list {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	return out
}

// LatestOS as a profile's OSVersion asks for the newest AXIS OS on the profile's track
// that the relay's release catalog holds for the device's model. Only the relay knows
// the catalog: it resolves the profile for each device (ForDevice) before an agent
// compares the device with it; an agent given "latest" compares no version.
const LatestOS = "latest"

// ForDevice is the profile as it applies to a device that runs AXIS OS running, with
// OSVersion LatestOS resolved to latest, the newest version published on the profile's
// track for the device's model ("" when there is none). A device already on the track
// at that version or a newer one is left where it is (OSVersion ""): "latest" never
// asks for a downgrade. Other profiles come back unchanged.
func (p Profile) ForDevice(running, latest string) Profile {
	if p.OSVersion != LatestOS {
		return p
	}
	p.OSVersion = latest
	if latest == "" || TrackOf(running) == p.OSTrack && CompareVersions(running, latest) >= 0 {
		p.OSVersion = ""
	}
	return p
}
