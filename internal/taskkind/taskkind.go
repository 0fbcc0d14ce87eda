// Package taskkind names the kinds of task the task manager dispatches and the edge runs,
// with their parameters: the relay validates them when a job is created, the agent's
// runners read them. One definition for both sides, so that what the relay accepts the
// agent can run.
package taskkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The task kinds.
const (
	Firmware      = "firmware"       // upgrade or downgrade AXIS OS to a release
	AppInstall    = "app-install"    // install (or upgrade) an ACAP application from a release
	AppStart      = "app-start"      // start an installed application
	AppStop       = "app-stop"       // stop it
	AppRemove     = "app-remove"     // remove it
	Params        = "params"         // set parameters
	Overlay       = "overlay"        // show a text overlay
	Restart       = "restart"        // reboot the device
	RotateAccount = "rotate-account" // give the agent's VAPIX account a new password
)

// Onboard is the kind of task an edge host makes for itself when an admin asks it to
// onboard a device (linkapi.OnboardPath): never a job's, so not among Kinds.
const Onboard = "onboard"

// Kinds lists every kind.
func Kinds() []string {
	return []string{Firmware, AppInstall, AppStart, AppStop, AppRemove, Params, Overlay, Restart, RotateAccount}
}

// Artifact is a release file the agent fetches from the relay, verifies and uses.
type Artifact struct {
	Release string `json:"release"` // release ID
	SHA256  string `json:"sha256"`  // hex
	Size    int64  `json:"size"`
	// Signature is the relay's Ed25519 signature of the artifact (see package releasesig).
	Signature []byte `json:"signature"`
}

// FirmwareParams: bring the device to Version from Artifact.
type FirmwareParams struct {
	Version  string   `json:"version"`
	Artifact Artifact `json:"artifact"`
	// FactoryDefault is fwmgr's factoryDefaultMode for a downgrade across major
	// versions: none (default), soft or hard.
	FactoryDefault string `json:"factoryDefault,omitempty"`
}

// AppParams names an application; for app-install, the release it comes from too.
type AppParams struct {
	Name     string    `json:"name"`
	Version  string    `json:"version,omitempty"`
	Artifact *Artifact `json:"artifact,omitempty"` // app-install only
	Start    bool      `json:"start,omitempty"`    // app-install: start it once installed
}

// ParamsParams are parameter values by name.
type ParamsParams struct {
	Values map[string]string `json:"values"`
}

// OverlayParams is a text overlay.
type OverlayParams struct {
	Text string `json:"text"`
}

var (
	versionRE = regexp.MustCompile(`^\d+(\.\d+){1,3}$`)
	appRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,26}$`)
	paramRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$`)
	hexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ErrUnknownKind: not a task kind.
var ErrUnknownKind = errors.New("unknown task kind")

// Validate checks a kind and its parameters (strictly: unknown fields are errors).
// Firmware and app-install artifacts are filled in by the relay from its release
// catalog, so here they are checked only when present.
func Validate(kind string, params json.RawMessage) error {
	switch kind {
	case Firmware:
		var p FirmwareParams
		if err := decode(params, &p); err != nil {
			return err
		}
		if !versionRE.MatchString(p.Version) {
			return fmt.Errorf("version %q: want an AXIS OS version such as 11.11.124", p.Version)
		}
		switch p.FactoryDefault {
		case "", "none", "soft", "hard":
		default:
			return fmt.Errorf("factoryDefault %q: want none, soft or hard", p.FactoryDefault)
		}
		return validArtifact(&p.Artifact)
	case AppInstall, AppStart, AppStop, AppRemove:
		var p AppParams
		if err := decode(params, &p); err != nil {
			return err
		}
		if !appRE.MatchString(p.Name) {
			return fmt.Errorf("name %q: an application package name", p.Name)
		}
		if kind == AppInstall {
			if p.Version != "" && !versionRE.MatchString(p.Version) {
				return fmt.Errorf("version %q: want a version such as 1.2.3", p.Version)
			}
			return validArtifact(p.Artifact)
		}
		if p.Artifact != nil || p.Start {
			return fmt.Errorf("%s takes only name", kind)
		}
		return nil
	case Params:
		var p ParamsParams
		if err := decode(params, &p); err != nil {
			return err
		}
		if len(p.Values) == 0 || len(p.Values) > 200 {
			return errors.New("values: 1 to 200 parameters")
		}
		for k, v := range p.Values {
			if !paramRE.MatchString(strings.TrimPrefix(k, "root.")) {
				return fmt.Errorf("parameter %q: want a dotted name such as Image.I0.Appearance.Resolution", k)
			}
			if len(v) > 1000 || strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("parameter %s: one line of at most 1000 bytes", k)
			}
		}
		return nil
	case Overlay:
		var p OverlayParams
		if err := decode(params, &p); err != nil {
			return err
		}
		if p.Text == "" || len(p.Text) > 200 || strings.ContainsAny(p.Text, "\r\n") {
			return errors.New("text: one line of 1 to 200 bytes")
		}
		return nil
	case Restart, RotateAccount:
		if len(bytes.TrimSpace(params)) > 0 && string(bytes.TrimSpace(params)) != "{}" && string(bytes.TrimSpace(params)) != "null" {
			return fmt.Errorf("%s takes no parameters", kind)
		}
		return nil
	}
	return fmt.Errorf("%w %q: want one of %s", ErrUnknownKind, kind, strings.Join(Kinds(), ", "))
}

func validArtifact(a *Artifact) error {
	if a == nil || a.SHA256 == "" && a.Release == "" && a.Size == 0 && len(a.Signature) == 0 {
		return nil
	}
	if !hexRE.MatchString(a.SHA256) || a.Size <= 0 || len(a.Signature) == 0 {
		return errors.New("artifact: sha256 (64 hex digits), size and signature are required")
	}
	return nil
}

func decode(params json.RawMessage, v any) error {
	if len(bytes.TrimSpace(params)) == 0 {
		return errors.New("parameters are required")
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	if dec.More() {
		return errors.New("parameters: more than one JSON value")
	}
	return nil
}
