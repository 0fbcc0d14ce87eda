package camsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
)

// State is everything about a camera that changes and survives a restart of camsim. It is
// saved as <state dir>/<serial>.json after every change.
type State struct {
	Serial   string            `json:"serial"`
	Firmware FirmwareState     `json:"firmware"`
	Params   map[string]string `json:"params"` // values changed or added through param.cgi, by name without "root." (Image.I0.Name)
	Users    []User            `json:"users"`
	Apps     []App             `json:"apps"`
	Overlays []Overlay         `json:"overlays"`
	// NextOverlay is the identity the next dynamic overlay gets; identities are never reused.
	NextOverlay int      `json:"nextOverlay"`
	PTZ         PTZState `json:"ptz"`
	Boots       int      `json:"boots"`
}

// FirmwareState is the firmware as fwmgr status reports it, plus an accepted upgrade that
// takes effect at the next boot.
type FirmwareState struct {
	Version   string `json:"version"`
	BuildDate string `json:"buildDate"`
	Part      string `json:"part"`
	// Inactive is the version of the rollback image, empty when there is none.
	Inactive      string    `json:"inactive,omitempty"`
	Committed     bool      `json:"committed"`
	LastUpgradeAt time.Time `json:"lastUpgradeAt,omitzero"`
	// RollbackAt is when an uncommitted upgrade rolls back by itself (zero: never).
	RollbackAt  time.Time        `json:"rollbackAt,omitzero"`
	ResetSource string           `json:"resetSource"`
	Pending     *PendingFirmware `json:"pending,omitempty"`
}

// PendingFirmware is an upgrade image accepted by fwmgr: the camera boots into it.
type PendingFirmware struct {
	Version             string `json:"version"`
	BuildDate           string `json:"buildDate"`
	FactoryDefaultMode  string `json:"factoryDefaultMode"`
	AutoCommit          string `json:"autoCommit"`
	AutoRollbackMinutes int    `json:"autoRollbackMinutes"` // 0: commit once started
	// Rollback marks a return to the inactive image (fwmgr rollback or an expired
	// rollback timer) rather than a new image.
	Rollback bool `json:"rollback,omitempty"`
}

// User is a VAPIX account (pwdgrp.cgi).
type User struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// Groups are the sgrp entries: viewer, operator, admin and the orthogonal ptz.
	Groups  []string `json:"groups"`
	Comment string   `json:"comment,omitempty"`
}

// Privilege is the level of access an account has: viewer < operator < admin.
type Privilege int

const (
	Anonymous Privilege = iota
	Viewer
	Operator
	Admin
)

func (p Privilege) String() string {
	switch p {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	default:
		return "anonymous"
	}
}

// Level is the highest privilege among the user's groups.
func (u *User) Level() Privilege {
	level := Anonymous
	for _, g := range u.Groups {
		switch g {
		case "admin":
			level = max(level, Admin)
		case "operator":
			level = max(level, Operator)
		case "viewer":
			level = max(level, Viewer)
		}
	}
	return level
}

// InGroup reports whether the user has group g (e.g. "ptz").
func (u *User) InGroup(g string) bool {
	for _, have := range u.Groups {
		if have == g {
			return true
		}
	}
	return false
}

// App is an installed ACAP application (applications/list.cgi).
type App struct {
	Name          string `json:"name"`     // manifest appName
	NiceName      string `json:"niceName"` // friendlyName
	Vendor        string `json:"vendor"`
	Version       string `json:"version"`
	ApplicationID string `json:"applicationId,omitempty"`
	Architecture  string `json:"architecture"`
	RunMode       string `json:"runMode"`
	Status        string `json:"status"` // Running, Stopped, Idle
	License       string `json:"license"`
	VendorURL     string `json:"vendorUrl,omitempty"`
	SettingsPage  string `json:"settingsPage,omitempty"`
}

// Overlay is a dynamic text overlay (dynamicoverlay.cgi).
type Overlay struct {
	Identity    int    `json:"identity"`
	Camera      int    `json:"camera"`
	Text        string `json:"text"`
	Position    any    `json:"position"` // a named position or [x, y]
	FontSize    int    `json:"fontSize"`
	TextColor   string `json:"textColor"`
	TextBGColor string `json:"textBGColor"`
	TextOLColor string `json:"textOLColor"`
	Visible     bool   `json:"visible"`
	ZIndex      int    `json:"zIndex"`
}

// PTZState is the pan/tilt/zoom position and the presets of a PTZ camera.
type PTZState struct {
	Pan        float64              `json:"pan"`
	Tilt       float64              `json:"tilt"`
	Zoom       float64              `json:"zoom"`
	Focus      float64              `json:"focus,omitempty"`
	Iris       float64              `json:"iris,omitempty"`
	Brightness float64              `json:"brightness,omitempty"`
	Speed      int                  `json:"speed,omitempty"` // 1..100; 0 means 100
	Presets    map[string]PTZPreset `json:"presets,omitempty"`
}

// PTZPreset is a stored position.
type PTZPreset struct {
	Number int     `json:"number"`
	Pan    float64 `json:"pan"`
	Tilt   float64 `json:"tilt"`
	Zoom   float64 `json:"zoom"`
}

// defaultState is a camera out of the box: the model's firmware, committed, the one admin
// account the fleet is configured with.
func defaultState(id Identity, user, password string) State {
	return State{
		Serial: id.Serial,
		Firmware: FirmwareState{
			Version:     id.Model.Firmware,
			BuildDate:   id.Model.BuildDate,
			Part:        id.Model.FirmwarePart,
			Committed:   true,
			ResetSource: "power-on",
		},
		Params:      defaultParams(),
		Users:       []User{{Name: user, Password: password, Groups: []string{"viewer", "operator", "admin", "ptz"}}},
		NextOverlay: 1,
		PTZ:         PTZState{Zoom: 1},
	}
}

// loadState reads a camera's state file; ok is false when there is none yet.
func loadState(dir, serial string) (st State, ok bool, err error) {
	if dir == "" {
		return State{}, false, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, serial+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("load state of %s: %w", serial, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("load state of %s: %w", serial, err)
	}
	if st.Serial != serial {
		return State{}, false, fmt.Errorf("load state of %s: file holds serial %q", serial, st.Serial)
	}
	if st.Params == nil {
		st.Params = map[string]string{}
	}
	return st, true, nil
}

// saveState writes the state file atomically (temp file + rename), so a crash of camsim
// never leaves a half-written camera behind.
func saveState(dir string, st *State) error {
	if dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save state of %s: %w", st.Serial, err)
	}
	final := filepath.Join(dir, st.Serial+".json")
	if err := atomicfile.Write(final, b, 0o600); err != nil {
		return fmt.Errorf("save state of %s: %w", st.Serial, err)
	}
	return nil
}
