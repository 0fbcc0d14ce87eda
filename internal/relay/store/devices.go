package store

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/profile"
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
	// once the device is claimed. Never leaves the relay. OAKVerified says the device's
	// own agent proved it: claims with another key are then refused.
	OAKKey      []byte `json:"oakKey,omitempty"`
	OAKVerified bool   `json:"oakVerified,omitempty"`
	// Proven says the organization proved the device is its own: its agent proved the
	// OAK, or its edge host took the device over with the device's admin credentials.
	// Only a proven record has an agent; an unproven one (a light registration, a claim
	// no agent has proven yet) blocks no other organization, and goes when one proves
	// the device is its own.
	Proven   bool      `json:"proven,omitempty"`
	ProvenAt time.Time `json:"provenAt,omitzero"`
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
	// One entry per cause and detail, also from agents that send one per occurrence,
	// dated with what was known of it before.
	drift := profile.GroupDrift(r.Drift)
	d.Drift = profile.KeepUnread(d.Drift, profile.MergeDrift(d.Drift, drift, now), r.Unread)
	d.Diff = profile.KeepUnread(d.Diff, r.Diff, r.Unread)
	if d.Profile == "" {
		d.Profile = r.Profile
	}
	if d.EffectiveMode() != ModeManaged {
		return
	}
	var reasons []string
	for _, dr := range drift {
		// A state counts as it is; an event only when it happened since the device
		// became managed (an old admin login does not).
		if dr.LastSeen.IsZero() || dr.LastSeen.After(d.ManagedSince) {
			reason := dr.Cause + ": " + dr.Detail
			if dr.Count > 1 {
				reason += fmt.Sprintf(" (%d times)", dr.Count)
			}
			reasons = append(reasons, reason)
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

// RegisterDevice adds a device by its static facts (light integration): an unproven
// record, which blocks no other organization. ErrExists if the organization has it
// already, ErrClaimedElsewhere if another organization proved it is its own.
func (s *Store) RegisterDevice(ctx context.Context, d Device) (Device, error) {
	serial, err := NormalizeSerial(d.Serial)
	if err != nil {
		return Device{}, err
	}
	d.Serial, d.Status, d.OAKKey, d.OAKVerified, d.CreatedAt = serial, StatusRegistered, nil, false, s.now().UTC()
	d.EdgeHost, d.AgentID, d.Connected, d.LastSeen, d.ClaimedAt = "", "", false, time.Time{}, time.Time{}
	d.Proven, d.ProvenAt = false, time.Time{}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		if owner := ownerOf(tx, serial); owner != "" && owner != d.Org {
			return ErrClaimedElsewhere
		}
		if tx.Bucket(bucketDevices).Get(pair(d.Org, serial)) != nil {
			return ErrExists
		}
		return putDevice(tx, d)
	})
	if err != nil {
		return Device{}, fmt.Errorf("register device %s: %w", serial, err)
	}
	return d, nil
}

// ClaimDevice claims a device for an organization with the key derived from its owner
// authentication key (oak.DeriveKey). The claim proves nothing until the device's agent
// proves the same key (VerifyDeviceProof): until then it blocks no other organization,
// and several may claim one serial. A device the organization already has is updated and
// created is false. Errors: ErrOAKMismatch when the device's agent proved another key;
// ErrClaimedElsewhere when another organization proved the device is its own (with this
// key, or one the relay cannot compare). Name, Model and Group of d are taken when set.
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
		if owner := ownerOf(tx, serial); owner != "" && owner != d.Org {
			var od Device
			if err := getJSON(tx.Bucket(bucketDevices), pair(owner, serial), &od); err != nil {
				return err
			}
			if od.OAKVerified && !hmac.Equal(od.OAKKey, oakKey) {
				return ErrOAKMismatch
			}
			return ErrClaimedElsewhere
		}
		var old Device
		switch err := getJSON(tx.Bucket(bucketDevices), pair(d.Org, serial), &old); {
		case errors.Is(err, ErrNotFound):
			created = true
			out = d
			out.Serial, out.CreatedAt = serial, now
			out.EdgeHost, out.AgentID, out.Connected, out.LastSeen = "", "", false, time.Time{}
			out.Proven, out.ProvenAt, out.OAKVerified = false, time.Time{}, false
		case err != nil:
			return err
		case old.OAKVerified && !hmac.Equal(old.OAKKey, oakKey):
			return ErrOAKMismatch
		default:
			out = old
			out.Name = cmpStr(d.Name, old.Name)
			out.Model = cmpStr(d.Model, old.Model)
			out.Group = cmpStr(d.Group, old.Group)
		}
		if out.Status != StatusOnboarded {
			out.Status = StatusClaimed
		}
		if !out.OAKVerified {
			out.OAKKey = oakKey
		}
		out.ClaimedAt = now
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
		return getJSON(tx.Bucket(bucketDevices), pair(org, strings.ToUpper(serial)), &d)
	})
	return d, err
}

// DeviceOwner is the organization that proved the device is its own; "" for none.
func (s *Store) DeviceOwner(ctx context.Context, serial string) (string, error) {
	var org string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		org = ownerOf(tx, strings.ToUpper(serial))
		return nil
	})
	return org, err
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
		r, err = s.routes.get(tx.Bucket(bucketDevices), pair(org, strings.ToUpper(serial)))
		return err
	})
	return r, err
}

// ListDevices returns up to limit devices of an organization matching f, in serial order,
// after cursor (empty: from the start). next is the cursor of the following page, empty
// on the last one. A cursor is opaque to callers. The devices come from a decode cache:
// what their slices hold (apps, drift, mode history) is shared and read-only.
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
	// The matches are gathered as the cache's own values and copied out once: growing a
	// slice of devices copies thousands of large structs again and again.
	var found []*Device
	more := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketDevices), prefixOf(org), after, func(k, v []byte) (bool, error) {
			d, err := s.devices.shared(k, v)
			if err != nil {
				return false, fmt.Errorf("decode device %s: %w", k, err)
			}
			if !f.match(*d) {
				return true, nil
			}
			if len(found) == limit {
				more = true
				return false, nil
			}
			found = append(found, d)
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list devices: %w", err)
	}
	out := make([]Device, len(found))
	for i, d := range found {
		out[i] = *d
	}
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Serial))
	}
	return out, next, nil
}

// UpdateDevice changes a device of an organization through fn (name, group); ErrNoSuchGroup
// if fn sets a group the organization does not have. fn may not move the device, nor
// change whether it is proven or which agent manages it.
func (s *Store) UpdateDevice(ctx context.Context, org, serial string, fn func(*Device) error) (Device, error) {
	serial = strings.ToUpper(serial)
	var d Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); err != nil {
			return err
		}
		keep := d
		if err := fn(&d); err != nil {
			return err
		}
		d.Serial, d.Org = serial, org
		d.Proven, d.ProvenAt, d.EdgeHost, d.AgentID = keep.Proven, keep.ProvenAt, keep.EdgeHost, keep.AgentID
		d.OAKKey, d.OAKVerified = keep.OAKKey, keep.OAKVerified
		return putDevice(tx, d)
	})
	return d, err
}

// DeleteDevice removes a device from an organization's inventory and returns it as it
// was. The edge host that managed it is to forget it (EdgeHost.Forget): its reports no
// longer bring it back, and the relay tells it so.
func (s *Store) DeleteDevice(ctx context.Context, org, serial string) (Device, error) {
	serial = strings.ToUpper(serial)
	var d Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); err != nil {
			return err
		}
		if d.EdgeHost != "" {
			if err := addForget(tx, org, d.EdgeHost, serial); err != nil {
				return err
			}
		}
		return removeDevice(tx, org, serial)
	})
	return d, err
}

// VerifyDeviceProof checks an on-device agent's proof of the owner authentication key
// (oak.Proof over nonce and binding) against the claims of the serial: the owner's when
// an organization proved the device is its own, else every organization's (the earliest
// claim that matches wins). It returns the claim the proof matches, or ErrNotFound when
// nobody claimed the device and ErrProof when the proof matches no claim.
func (s *Store) VerifyDeviceProof(ctx context.Context, serial string, nonce, binding, proof []byte) (Device, error) {
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return Device{}, err
	}
	var claims []Device
	err = s.view(ctx, func(tx *bolt.Tx) error {
		orgs := recordsOf(tx, serial)
		if owner := ownerOf(tx, serial); owner != "" {
			orgs = []string{owner}
		}
		for _, org := range orgs {
			var d Device
			if err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); err != nil {
				return err
			}
			if len(d.OAKKey) > 0 {
				claims = append(claims, d)
			}
		}
		return nil
	})
	if err != nil {
		return Device{}, err
	}
	if len(claims) == 0 {
		return Device{}, ErrNotFound
	}
	slices.SortFunc(claims, func(a, b Device) int { return a.ClaimedAt.Compare(b.ClaimedAt) })
	for _, d := range claims {
		if oak.Verify(d.OAKKey, serial, nonce, binding, proof) {
			return d, nil
		}
	}
	return Device{}, ErrProof
}

// deviceAgentPrefix starts the agent ID of an agent on a device; edge hosts' IDs do not
// have it.
const deviceAgentPrefix = "dev_"

// DeviceAgentID is the agent ID of the agent running on the device with this serial.
func DeviceAgentID(serial string) string { return deviceAgentPrefix + strings.ToUpper(serial) }

// AgentDevice is the serial of the device an agent runs on, and whether it runs on one
// (the inverse of DeviceAgentID); an edge host runs on none.
func AgentDevice(agentID string) (serial string, onDevice bool) {
	return strings.CutPrefix(agentID, deviceAgentPrefix)
}

// MarkDeviceEnrolled records that the agent on the device enrolled (after
// VerifyDeviceProof matched the organization's claim): the device becomes onboarded
// under DeviceAgentID(serial), the organization's proven own, and every other
// organization's record of it goes (each removal in that organization's audit log).
// ErrClaimedElsewhere if another organization proved it is its own meanwhile.
func (s *Store) MarkDeviceEnrolled(ctx context.Context, org, serial string) (Device, error) {
	serial = strings.ToUpper(serial)
	now := s.now().UTC()
	var d Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); err != nil {
			return err
		}
		d.Status, d.AgentID, d.OAKVerified = StatusOnboarded, DeviceAgentID(serial), true
		if d.Mode == "" {
			d.SetMode(ModeManaged, "on-device agent enrolled", "system", now)
		}
		return prove(tx, &d, "its agent proved the owner authentication key", "system", now)
	})
	return d, err
}

// OnboardDevice records that the organization's edge host took the device over with
// its admin credentials (an onboarding an admin asked for succeeded), by whom it was
// asked: the device becomes the organization's proven own, onboarded and managed under
// that edge host. A device another edge host of the organization managed moves to this
// one, which the other is to forget. Every other organization's record of the device
// goes. All of it is in the audit log. ErrClaimedElsewhere if another organization
// proved the device is its own.
func (s *Store) OnboardDevice(ctx context.Context, org, edgeHostID, serial, by string) (Device, error) {
	var d Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		d, err = onboardDevice(tx, org, edgeHostID, serial, by, s.now().UTC())
		return err
	})
	return d, err
}

func onboardDevice(tx *bolt.Tx, org, edgeHostID, serial, by string, now time.Time) (Device, error) {
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return Device{}, err
	}
	if tx.Bucket(bucketEdgeHosts).Get(pair(org, edgeHostID)) == nil {
		return Device{}, ErrNotFound
	}
	var d Device
	switch err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); {
	case errors.Is(err, ErrNotFound):
		d = Device{Serial: serial, Org: org, CreatedAt: now}
	case err != nil:
		return Device{}, err
	}
	if from := d.EdgeHost; from != "" && from != edgeHostID {
		if err := addForget(tx, org, from, serial); err != nil {
			return Device{}, err
		}
		if err := appendAuditTx(tx, AuditEntry{At: now, Org: org, Principal: by, Action: AuditDeviceMove, Serial: serial,
			Status: 200, Detail: "moved from edge host " + from + " to " + edgeHostID + " by onboarding with the device's admin credentials"}); err != nil {
			return Device{}, err
		}
	}
	if err := dropForget(tx, org, edgeHostID, serial); err != nil {
		return Device{}, err
	}
	d.Status, d.EdgeHost = StatusOnboarded, edgeHostID
	if d.Mode == "" {
		d.SetMode(ModeManaged, "onboarded by edge host "+edgeHostID, by, now)
	}
	return d, prove(tx, &d, "onboarded through edge host "+edgeHostID+" with the device's admin credentials", by, now)
}

// prove makes d its organization's proven own and stores it: every other organization's
// record of the serial goes, each removal audited in that organization; the proof is
// audited in d's. ErrClaimedElsewhere if another organization owns the device.
func prove(tx *bolt.Tx, d *Device, how, by string, now time.Time) error {
	if owner := ownerOf(tx, d.Serial); owner != "" && owner != d.Org {
		return ErrClaimedElsewhere
	}
	first := !d.Proven
	if first {
		d.Proven, d.ProvenAt = true, now
	}
	if err := putDevice(tx, *d); err != nil {
		return err
	}
	var entries []AuditEntry
	if first {
		entries = append(entries, AuditEntry{At: now, Org: d.Org, Principal: by, Action: AuditDeviceProven, Serial: d.Serial, Status: 200, Detail: how})
	}
	for _, other := range recordsOf(tx, d.Serial) {
		if other == d.Org {
			continue
		}
		if err := removeDevice(tx, other, d.Serial); err != nil {
			return err
		}
		entries = append(entries, AuditEntry{At: now, Org: other, Principal: "system", Action: AuditDeviceRemoved, Serial: d.Serial, Status: 200,
			Detail: "another organization proved the device is its own (" + how + "); this organization's unproven record of it was removed"})
	}
	return appendAuditTx(tx, entries...)
}

// ReportResult is what the relay made of an edge host's inventory report.
type ReportResult struct {
	// Ignored are the serials that changed nothing: malformed, not the organization's
	// proven devices, or managed by another of its edge hosts.
	Ignored []string
	// Forget are the serials the edge host reported that it is to forget: deleted, or
	// moved to another edge host.
	Forget []string
}

// ReportDevices records an edge host's report of the devices it manages (every one of
// them, each time). Only the organization's devices this edge host manages take their
// report (state, and for managed ones drift that switches them to connected); a report
// never adds a device, nor moves one from another edge host: that takes an onboarding
// (OnboardDevice). Serials the edge host is to forget and still reports are returned;
// those it no longer reports are forgotten at the relay too.
func (s *Store) ReportDevices(ctx context.Context, org, edgeHostID string, reports []linkapi.DeviceReport) (ReportResult, error) {
	now := s.now().UTC()
	var res ReportResult
	err := s.update(ctx, func(tx *bolt.Tx) error {
		res = ReportResult{}
		hosts := tx.Bucket(bucketEdgeHosts)
		var h EdgeHost
		if err := getJSON(hosts, pair(org, edgeHostID), &h); err != nil {
			return err
		}
		devices := tx.Bucket(bucketDevices)
		reported := map[string]bool{}
		for _, r := range reports {
			serial, err := NormalizeSerial(r.Serial)
			if err != nil {
				res.Ignored = append(res.Ignored, r.Serial)
				continue
			}
			reported[serial] = true
			if slices.Contains(h.Forget, serial) {
				res.Forget = append(res.Forget, serial)
				continue
			}
			var d Device
			switch err := getJSON(devices, pair(org, serial), &d); {
			case errors.Is(err, ErrNotFound):
				res.Ignored = append(res.Ignored, serial)
				continue
			case err != nil:
				return err
			case d.EdgeHost != edgeHostID || !d.Proven:
				res.Ignored = append(res.Ignored, serial)
				continue
			}
			d.applyReport(r, now)
			if err := putDevice(tx, d); err != nil {
				return err
			}
		}
		h.Forget = slices.DeleteFunc(h.Forget, func(serial string) bool { return !reported[serial] })
		h.ReportedAt = now
		return putJSON(hosts, pair(org, edgeHostID), h)
	})
	return res, err
}

// ForgotDevice records that an edge host forgot a device it was to forget (it said so
// when the relay told it): it need not be told again.
func (s *Store) ForgotDevice(ctx context.Context, org, edgeHostID, serial string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		return dropForget(tx, org, edgeHostID, strings.ToUpper(serial))
	})
}

// maxForget bounds the serials an edge host is to forget; beyond, the oldest go (the
// edge host that still reports them changes nothing with its reports).
const maxForget = 10000

// addForget adds serial to what an edge host is to forget.
func addForget(tx *bolt.Tx, org, edgeHostID, serial string) error {
	hosts := tx.Bucket(bucketEdgeHosts)
	var h EdgeHost
	if err := getJSON(hosts, pair(org, edgeHostID), &h); err != nil {
		return ignoreNotFound(err) // a deleted edge host has nothing left to forget
	}
	if slices.Contains(h.Forget, serial) {
		return nil
	}
	h.Forget = append(h.Forget, serial)
	if n := len(h.Forget); n > maxForget {
		h.Forget = slices.Clone(h.Forget[n-maxForget:])
	}
	return putJSON(hosts, pair(org, edgeHostID), h)
}

// dropForget removes serial from what an edge host is to forget.
func dropForget(tx *bolt.Tx, org, edgeHostID, serial string) error {
	hosts := tx.Bucket(bucketEdgeHosts)
	var h EdgeHost
	if err := getJSON(hosts, pair(org, edgeHostID), &h); err != nil {
		return ignoreNotFound(err)
	}
	i := slices.Index(h.Forget, serial)
	if i < 0 {
		return nil
	}
	h.Forget = slices.Delete(h.Forget, i, i+1)
	return putJSON(hosts, pair(org, edgeHostID), h)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
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

// ownerOf is the organization that proved serial is its own, "" for none.
func ownerOf(tx *bolt.Tx, serial string) string {
	return string(tx.Bucket(bucketDeviceOwners).Get([]byte(serial)))
}

// recordsOf lists the organizations that have a record of serial.
func recordsOf(tx *bolt.Tx, serial string) []string {
	var orgs []string
	_ = scanPrefix(tx.Bucket(bucketDeviceOrgs), prefixOf(serial), nil, func(k, _ []byte) (bool, error) {
		orgs = append(orgs, string(k[len(serial)+1:]))
		return true, nil
	})
	return orgs
}

// removeDevice deletes an organization's record of a device with its index entries.
func removeDevice(tx *bolt.Tx, org, serial string) error {
	if err := tx.Bucket(bucketDevices).Delete(pair(org, serial)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeviceOrgs).Delete(pair(serial, org)); err != nil {
		return err
	}
	if ownerOf(tx, serial) == org {
		return tx.Bucket(bucketDeviceOwners).Delete([]byte(serial))
	}
	return nil
}

// putDevice stores an organization's record of a device with its index entries. Only
// code that checked the proof may store a proven record.
func putDevice(tx *bolt.Tx, d Device) error {
	if d.Group != "" && tx.Bucket(bucketGroups).Get(pair(d.Org, d.Group)) == nil {
		return ErrNoSuchGroup
	}
	if err := putJSON(tx.Bucket(bucketDevices), pair(d.Org, d.Serial), d); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeviceOrgs).Put(pair(d.Serial, d.Org), present); err != nil {
		return err
	}
	if d.Proven {
		return tx.Bucket(bucketDeviceOwners).Put([]byte(d.Serial), []byte(d.Org))
	}
	return nil
}

// cmpStr returns a when it is set, else b.
func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
