package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/oak"
)

// DeviceStatus is how far a device is onboarded.
type DeviceStatus string

// Device statuses, in onboarding order.
const (
	// StatusRegistered: known by its static facts only (light integration, no agent).
	StatusRegistered DeviceStatus = "registered"
	// StatusClaimed: claimed with its owner authentication key; its on-device agent may
	// now enroll.
	StatusClaimed DeviceStatus = "claimed"
	// StatusOnboarded: managed by an agent (on the device, or an edge host that reports it).
	StatusOnboarded DeviceStatus = "onboarded"
)

// ParseDeviceStatus checks a status name.
func ParseDeviceStatus(s string) (DeviceStatus, error) {
	switch d := DeviceStatus(s); d {
	case StatusRegistered, StatusClaimed, StatusOnboarded:
		return d, nil
	}
	return "", fmt.Errorf("status %q: want registered, claimed or onboarded", s)
}

var (
	// ErrBadSerial: a serial number is not 12 hexadecimal digits.
	ErrBadSerial = errors.New("store: serial must be 12 hexadecimal digits")
	// ErrNoSuchGroup: the resource group named for a device does not exist in its organization.
	ErrNoSuchGroup = errors.New("store: no such resource group")
)

// NormalizeSerial upper-cases a serial number and checks that it is 12 hex digits (an Axis
// serial is the MAC address).
func NormalizeSerial(s string) (string, error) {
	s = strings.ToUpper(s)
	if len(s) != 12 {
		return "", ErrBadSerial
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return "", ErrBadSerial
		}
	}
	return s, nil
}

// Device is one camera (or other Axis device) in an organization's inventory.
type Device struct {
	Serial string       `json:"serial"`
	Org    string       `json:"org"`
	Name   string       `json:"name,omitempty"`
	Model  string       `json:"model,omitempty"`
	Group  string       `json:"group,omitempty"` // resource group ID
	Status DeviceStatus `json:"status"`
	// OAKKey is the key derived from the owner authentication key (package oak); set
	// once the device is claimed. Never leaves the relay.
	OAKKey []byte `json:"oakKey,omitempty"`
	// EdgeHost is the edge host that manages the device (second tier), AgentID the
	// agent on the device itself (first tier); both empty for light integration.
	EdgeHost        string    `json:"edgeHost,omitempty"`
	AgentID         string    `json:"agentId,omitempty"`
	FirmwareVersion string    `json:"firmwareVersion,omitempty"`
	Connected       bool      `json:"connected"`
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	CreatedAt       time.Time `json:"createdAt"`
	ClaimedAt       time.Time `json:"claimedAt,omitzero"`

	// What the managing agent last reported.
	HardwareID string                 `json:"hardwareId,omitempty"`
	Address    string                 `json:"address,omitempty"`
	Apps       []profile.InstalledApp `json:"apps,omitempty"`
	Drift      []profile.Drift        `json:"drift,omitempty"`
	Diff       []profile.Change       `json:"diff,omitempty"`
	ReportedAt time.Time              `json:"reportedAt,omitzero"`

	// Mode is managed or connected for an onboarded device; empty (standalone) before.
	Mode         Mode         `json:"mode,omitempty"`
	ManagedSince time.Time    `json:"managedSince,omitzero"`
	ModeHistory  []ModeChange `json:"modeHistory,omitempty"`
	// Profile names the device profile it should follow.
	Profile string `json:"profile,omitempty"`
}

// Mode is how far the organization manages a device (F7).
type Mode string

// Management modes.
const (
	// ModeManaged: the system keeps the device on its profile (upgrades, apps, settings).
	ModeManaged Mode = "managed"
	// ModeConnected: connected and monitored, but changed only on request; a managed
	// device drops to it when it drifts from its profile.
	ModeConnected Mode = "connected"
	// ModeStandalone: registered, not onboarded.
	ModeStandalone Mode = "standalone"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeManaged, ModeConnected, ModeStandalone:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want managed, connected or standalone", s)
}

// EffectiveMode is the device's mode, standalone when it is not onboarded.
func (d Device) EffectiveMode() Mode {
	if d.Status != StatusOnboarded || d.Mode == "" {
		return ModeStandalone
	}
	return d.Mode
}

// ModeChange is one switch of a device's mode, with why and by whom.
type ModeChange struct {
	At     time.Time `json:"at"`
	From   Mode      `json:"from"`
	To     Mode      `json:"to"`
	Reason string    `json:"reason"`
	By     string    `json:"by"` // a user or client ID, or "system" for drift
}

// maxModeHistory bounds the mode changes a device keeps.
const maxModeHistory = 50

// SetMode switches the device's mode and records the change; no-op when it is already in it.
func (d *Device) SetMode(to Mode, reason, by string, at time.Time) {
	from := d.EffectiveMode()
	if from == to {
		return
	}
	d.Mode = to
	if to == ModeManaged {
		d.ManagedSince = at
	}
	d.ModeHistory = append(d.ModeHistory, ModeChange{At: at, From: from, To: to, Reason: reason, By: by})
	if n := len(d.ModeHistory); n > maxModeHistory {
		d.ModeHistory = slices.Clone(d.ModeHistory[n-maxModeHistory:])
	}
}

// applyReport takes an agent's report of the device: its state, and, for a managed
// device, the drift that switches it to connected. Drift that happened before the
// device last became managed (an old admin login) does not count. Of the parts the agent
// could not read (r.Unread), the applications, drift and differences last known stand.
func (d *Device) applyReport(r linkapi.DeviceReport, now time.Time) {
	d.Model = cmpStr(r.Model, d.Model)
	d.FirmwareVersion = cmpStr(r.FirmwareVersion, d.FirmwareVersion)
	d.HardwareID = cmpStr(r.HardwareID, d.HardwareID)
	d.Address = cmpStr(r.Address, d.Address)
	d.Connected = r.Reachable
	if !r.Reachable {
		return // nothing read: keep the last known state
	}
	d.LastSeen, d.ReportedAt = now, now
	if !slices.Contains(r.Unread, profile.PartApps) {
		d.Apps = r.Apps
	}
	d.Drift, d.Diff = profile.KeepUnread(d.Drift, r.Drift, r.Unread), profile.KeepUnread(d.Diff, r.Diff, r.Unread)
	if d.Profile == "" {
		d.Profile = r.Profile
	}
	if d.EffectiveMode() != ModeManaged {
		return
	}
	var reasons []string
	for _, dr := range r.Drift {
		if dr.At.IsZero() || dr.At.After(d.ManagedSince) {
			reasons = append(reasons, dr.Cause+": "+dr.Detail)
		}
	}
	if len(reasons) > 0 {
		d.SetMode(ModeConnected, strings.Join(reasons, "; "), "system", now)
	}
}

// Deep reports whether an agent manages the device (deep integration) rather than the
// relay only knowing its static facts (light integration).
func (d Device) Deep() bool { return d.EdgeHost != "" || d.AgentID != "" }

// DeviceFilter selects devices in ListDevices; empty fields match everything.
type DeviceFilter struct {
	Status    DeviceStatus
	Model     string
	Group     string
	Mode      Mode
	EdgeHost  string
	Connected *bool
}

func (f DeviceFilter) match(d Device) bool {
	return (f.Status == "" || d.Status == f.Status) &&
		(f.Model == "" || strings.EqualFold(d.Model, f.Model)) &&
		(f.Group == "" || d.Group == f.Group) &&
		(f.Mode == "" || d.EffectiveMode() == f.Mode) &&
		(f.EdgeHost == "" || d.EdgeHost == f.EdgeHost) &&
		(f.Connected == nil || d.Connected == *f.Connected)
}

// RegisterDevice adds a device by its static facts (light integration). ErrExists if the
// organization has it already, ErrClaimedElsewhere if another organization has it.
func (s *Store) RegisterDevice(ctx context.Context, d Device) (Device, error) {
	serial, err := NormalizeSerial(d.Serial)
	if err != nil {
		return Device{}, err
	}
	d.Serial, d.Status, d.OAKKey, d.CreatedAt = serial, StatusRegistered, nil, s.now().UTC()
	d.EdgeHost, d.AgentID, d.Connected, d.LastSeen, d.ClaimedAt = "", "", false, time.Time{}, time.Time{}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		var old Device
		switch err := getJSON(tx.Bucket(bucketDevices), []byte(serial), &old); {
		case err == nil && old.Org == d.Org:
			return ErrExists
		case err == nil:
			return ErrClaimedElsewhere
		case !errors.Is(err, ErrNotFound):
			return err
		}
		return putDevice(tx, d)
	})
	if err != nil {
		return Device{}, fmt.Errorf("register device %s: %w", serial, err)
	}
	return d, nil
}

// ClaimDevice claims a device for an organization with the key derived from its owner
// authentication key (oak.DeriveKey). A device the organization already has (registered
// or claimed) is updated and created is false; one of another organization is
// ErrClaimedElsewhere. Name, Model and Group of d are taken when set.
func (s *Store) ClaimDevice(ctx context.Context, d Device, oakKey []byte) (_ Device, created bool, _ error) {
	serial, err := NormalizeSerial(d.Serial)
	if err != nil {
		return Device{}, false, err
	}
	if len(oakKey) != oak.KeyLen {
		return Device{}, false, fmt.Errorf("claim device %s: key of %d bytes", serial, len(oakKey))
	}
	now := s.now().UTC()
	var out Device
	err = s.update(ctx, func(tx *bolt.Tx) error {
		var old Device
		switch err := getJSON(tx.Bucket(bucketDevices), []byte(serial), &old); {
		case errors.Is(err, ErrNotFound):
			created = true
			out = d
			out.Serial, out.CreatedAt = serial, now
			out.EdgeHost, out.AgentID, out.Connected, out.LastSeen = "", "", false, time.Time{}
		case err != nil:
			return err
		case old.Org != d.Org:
			return ErrClaimedElsewhere
		default:
			out = old
			out.Name = cmpStr(d.Name, old.Name)
			out.Model = cmpStr(d.Model, old.Model)
			out.Group = cmpStr(d.Group, old.Group)
		}
		if out.Status != StatusOnboarded {
			out.Status = StatusClaimed
		}
		out.OAKKey, out.ClaimedAt = oakKey, now
		return putDevice(tx, out)
	})
	if err != nil {
		return Device{}, false, fmt.Errorf("claim device %s: %w", serial, err)
	}
	return out, created, nil
}

// Device returns a device of an organization.
func (s *Store) Device(ctx context.Context, org, serial string) (Device, error) {
	var d Device
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketDevices), []byte(strings.ToUpper(serial)), &d); err != nil {
			return err
		}
		if d.Org != org {
			return ErrNotFound
		}
		return nil
	})
	return d, err
}

// DeviceRoute is what EdgeLink needs of a device to reach it: which agent manages it.
type DeviceRoute struct {
	Serial   string `json:"serial"`
	Org      string `json:"org"`
	EdgeHost string `json:"edgeHost,omitempty"`
	AgentID  string `json:"agentId,omitempty"`
}

// Agent is the agent that manages the device: its on-device agent, else its edge host;
// "" for a device no agent manages.
func (r DeviceRoute) Agent() string {
	if r.AgentID != "" {
		return r.AgentID
	}
	return r.EdgeHost
}

// DeviceRoute returns the route to a device of an organization, cheaper than Device.
func (s *Store) DeviceRoute(ctx context.Context, org, serial string) (DeviceRoute, error) {
	var r DeviceRoute
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		if r, err = s.routes.get(tx.Bucket(bucketDevices), []byte(strings.ToUpper(serial))); err != nil {
			return err
		}
		if r.Org != org {
			return ErrNotFound
		}
		return nil
	})
	return r, err
}

// ListDevices returns up to limit devices of an organization matching f, in serial order,
// after cursor (empty: from the start). next is the cursor of the following page, empty
// on the last one. A cursor is opaque to callers.
func (s *Store) ListDevices(ctx context.Context, org string, f DeviceFilter, cursor string, limit int) (_ []Device, next string, _ error) {
	var after []byte
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		serial, err := NormalizeSerial(string(raw))
		if err != nil {
			return nil, "", ErrBadCursor
		}
		after = pair(org, serial)
	}
	limit = max(limit, 1)
	var out []Device
	more := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		devices := tx.Bucket(bucketDevices)
		return scanPrefix(tx.Bucket(bucketOrgDevices), prefixOf(org), after, func(k, _ []byte) (bool, error) {
			var d Device
			if err := getJSON(devices, k[len(org)+1:], &d); err != nil {
				return false, err
			}
			if !f.match(d) {
				return true, nil
			}
			if len(out) == limit {
				more = true
				return false, nil
			}
			out = append(out, d)
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list devices: %w", err)
	}
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Serial))
	}
	return out, next, nil
}

// UpdateDevice changes a device of an organization through fn (name, group); ErrNoSuchGroup
// if fn sets a group the organization does not have.
func (s *Store) UpdateDevice(ctx context.Context, org, serial string, fn func(*Device) error) (Device, error) {
	serial = strings.ToUpper(serial)
	var d Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketDevices), []byte(serial), &d); err != nil || d.Org != org {
			return cmpErr(err, ErrNotFound)
		}
		if err := fn(&d); err != nil {
			return err
		}
		d.Serial, d.Org = serial, org // fn may not move a device
		return putDevice(tx, d)
	})
	return d, err
}

// DeleteDevice removes a device from an organization's inventory (it may then be claimed
// by another organization).
func (s *Store) DeleteDevice(ctx context.Context, org, serial string) error {
	serial = strings.ToUpper(serial)
	return s.update(ctx, func(tx *bolt.Tx) error {
		var d Device
		if err := getJSON(tx.Bucket(bucketDevices), []byte(serial), &d); err != nil || d.Org != org {
			return cmpErr(err, ErrNotFound)
		}
		if err := tx.Bucket(bucketOrgDevices).Delete(pair(org, serial)); err != nil {
			return err
		}
		return tx.Bucket(bucketDevices).Delete([]byte(serial))
	})
}

// VerifyDeviceProof checks an on-device agent's proof of the owner authentication key
// (oak.Proof over nonce and binding) against the claim. It returns the claimed device, or
// ErrNotFound when nobody claimed it and ErrProof when the proof does not verify.
func (s *Store) VerifyDeviceProof(ctx context.Context, serial string, nonce, binding, proof []byte) (Device, error) {
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return Device{}, err
	}
	var d Device
	err = s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketDevices), []byte(serial), &d)
	})
	if err != nil {
		return Device{}, err
	}
	if len(d.OAKKey) == 0 {
		return Device{}, ErrNotFound
	}
	if !oak.Verify(d.OAKKey, serial, nonce, binding, proof) {
		return Device{}, ErrProof
	}
	return d, nil
}

// DeviceAgentID is the agent ID of the agent running on the device with this serial.
func DeviceAgentID(serial string) string { return "dev_" + strings.ToUpper(serial) }

// MarkDeviceEnrolled records that the agent on the device enrolled (after
// VerifyDeviceProof): the device becomes onboarded under DeviceAgentID(serial).
func (s *Store) MarkDeviceEnrolled(ctx context.Context, org, serial string) (Device, error) {
	now := s.now().UTC()
	return s.UpdateDevice(ctx, org, serial, func(d *Device) error {
		d.Status, d.AgentID = StatusOnboarded, DeviceAgentID(d.Serial)
		if d.Mode == "" {
			d.SetMode(ModeManaged, "on-device agent enrolled", "system", now)
		}
		return nil
	})
}

// ReportDevices records an edge host's view of the devices it manages: unknown devices
// join the organization as onboarded (and managed) under that edge host, known ones get
// their dynamic state updated, and managed ones that drifted switch to connected.
// Devices that belong to another organization are left alone and returned in refused;
// so are reports with a bad serial.
func (s *Store) ReportDevices(ctx context.Context, org, edgeHostID string, reports []linkapi.DeviceReport) (refused []string, _ error) {
	now := s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEdgeHosts).Get(pair(org, edgeHostID)) == nil {
			return ErrNotFound
		}
		devices := tx.Bucket(bucketDevices)
		for _, r := range reports {
			serial, err := NormalizeSerial(r.Serial)
			if err != nil {
				refused = append(refused, r.Serial)
				continue
			}
			var d Device
			switch err := getJSON(devices, []byte(serial), &d); {
			case errors.Is(err, ErrNotFound):
				d = Device{Serial: serial, Org: org, CreatedAt: now}
			case err != nil:
				return err
			case d.Org != org:
				refused = append(refused, serial)
				continue
			}
			d.Status, d.EdgeHost = StatusOnboarded, edgeHostID
			if d.Mode == "" {
				d.SetMode(ModeManaged, "onboarded by edge host "+edgeHostID, "system", now)
			}
			d.applyReport(r, now)
			if err := putDevice(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	return refused, err
}

// ReportOwnDevice records what the agent on a device reports of it.
func (s *Store) ReportOwnDevice(ctx context.Context, org string, r linkapi.DeviceReport) (Device, error) {
	now := s.now().UTC()
	return s.UpdateDevice(ctx, org, r.Serial, func(d *Device) error {
		if d.AgentID != DeviceAgentID(d.Serial) {
			return ErrNotFound
		}
		d.applyReport(r, now)
		return nil
	})
}

func putDevice(tx *bolt.Tx, d Device) error {
	if d.Group != "" && tx.Bucket(bucketGroups).Get(pair(d.Org, d.Group)) == nil {
		return ErrNoSuchGroup
	}
	if err := putJSON(tx.Bucket(bucketDevices), []byte(d.Serial), d); err != nil {
		return err
	}
	return tx.Bucket(bucketOrgDevices).Put(pair(d.Org, d.Serial), present)
}

// cmpStr returns a when it is set, else b.
func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DeviceExists reports whether any organization has the device.
func (s *Store) DeviceExists(ctx context.Context, serial string) bool {
	found := false
	_ = s.view(ctx, func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketDevices).Get([]byte(strings.ToUpper(serial))) != nil
		return nil
	})
	return found
}
