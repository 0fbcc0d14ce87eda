// Package linkapi is what agents and the relay say to each other over the agent link
// (pkg/edgelink): the paths and bodies of the HTTP requests on its streams, defined once
// for both sides.
package linkapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// InventoryPath takes an agent's inventory report (agent -> relay): POST, a JSON array of
// DeviceReport, answered 200 with InventoryAnswer. An edge host reports every device it manages; an agent on
// a device reports that device only.
const InventoryPath = "/v1/inventory"

// InventoryAnswer is the relay's answer to an inventory report (200; an older relay
// answers 204 without it).
type InventoryAnswer struct {
	// Forget lists reported devices the agent is to forget (ForgetPath): deleted from
	// the inventory, or moved to another edge host, while it was not told.
	Forget []string `json:"forget,omitempty"`
}

// ForgetPath tells an edge host to forget devices (relay -> agent): POST a
// ForgetRequest, answered 204 once it no longer manages them. It removes its own account
// from each device where it still can, drops the credentials, and stops reporting it.
const ForgetPath = "/v1/forget"

// ForgetRequest lists the devices to forget.
type ForgetRequest struct {
	Serials []string `json:"serials"`
}

// StatusPath is the agent's own status (relay -> agent): GET, answered with Status.
const StatusPath = "/v1/status"

// DeviceReport is one device's state as its agent sees it.
type DeviceReport struct {
	Serial          string                 `json:"serial"`
	Model           string                 `json:"model,omitempty"`
	HardwareID      string                 `json:"hardwareId,omitempty"`
	FirmwareVersion string                 `json:"firmwareVersion,omitempty"`
	Reachable       bool                   `json:"reachable"`
	Address         string                 `json:"address,omitempty"` // host:port on the agent's network
	Apps            []profile.InstalledApp `json:"apps,omitempty"`
	// Profile names the profile Drift and Diff were computed against.
	Profile string           `json:"profile,omitempty"`
	Drift   []profile.Drift  `json:"drift,omitempty"`
	Diff    []profile.Change `json:"diff,omitempty"`
	// Unread names the parts of a reachable device's state that could not be read this
	// time (profile.PartApps...): Apps, Drift and Diff say nothing about them, and what
	// was last known of them stands (profile.KeepUnread).
	Unread []string `json:"unread,omitempty"`
}

// DiscoveredPath takes what an edge host found on its network (agent -> relay): POST, a
// JSON array of DiscoveredDevice replacing the previous one, answered 204.
const DiscoveredPath = "/v1/discovered"

// DiscoveredDevice is a device an edge host found on its network.
type DiscoveredDevice struct {
	Serial       string    `json:"serial"`
	Address      string    `json:"address"` // host:port of its VAPIX
	Source       string    `json:"source"`  // mdns, manual or scan
	Model        string    `json:"model,omitempty"`
	ProdFullName string    `json:"prodFullName,omitempty"`
	HardwareID   string    `json:"hardwareId,omitempty"`
	Firmware     string    `json:"firmware,omitempty"`
	FirstSeen    time.Time `json:"firstSeen"`
	LastSeen     time.Time `json:"lastSeen"`
	Onboarded    bool      `json:"onboarded"` // already managed: by this edge host, or by its own agent
}

// ConfigPath is what the relay wants of an agent's devices (agent -> relay): GET,
// answered with a JSON array of DeviceConfig.
const ConfigPath = "/v1/config"

// DeviceConfig is a device's management mode and profile.
type DeviceConfig struct {
	Serial  string          `json:"serial"`
	Mode    string          `json:"mode"` // managed, connected or standalone
	Profile profile.Profile `json:"profile"`
	// ManagedSince is when the device last became managed: admin logins before it are
	// not drift.
	ManagedSince time.Time `json:"managedSince,omitzero"`
}

// TasksPath takes task progress (agent -> relay): POST, a JSON array of TaskReport,
// answered 204. Reports are idempotent: the relay keeps the latest of each task ID.
const TasksPath = "/v1/tasks"

// TaskReport is a task and its every transition: the task as the link carries it, agent
// to relay, and as the relay shows it. Its states are package taskstate's.
type TaskReport struct {
	ID          string          `json:"id"`
	Attempt     int             `json:"attempt,omitempty"`
	Kind        string          `json:"kind"` // onboard, firmware, ...
	Serial      string          `json:"serial"`
	State       taskstate.State `json:"state"`
	Detail      string          `json:"detail,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	CreatedBy   string          `json:"createdBy"` // "agent" for tasks the agent created itself
	Transitions []Transition    `json:"transitions"`
}

// Transition is one state change of a task.
type Transition struct {
	State   taskstate.State `json:"state"`
	At      time.Time       `json:"at"`
	Detail  string          `json:"detail,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
}

// EdgeLinkPrefix is where an agent takes EdgeLink requests (relay -> agent): any method,
// EdgeLinkPrefix + "{serial}/vapix/{path...}", answered by the device through the agent
// (package egress).
const EdgeLinkPrefix = "/v1/devices/"

// WHEPPrefix is where an agent takes live video sessions (relay -> agent), WHEP
// (RFC 9725) between the relay and the agent's publisher:
//
//   - POST WHEPPrefix + "{serial}[?profile=name]", the viewer's SDP offer
//     (application/sdp), answered 201 with the SDP answer and the session's ID in
//     WHEPSessionHeader;
//   - PATCH WHEPPrefix + "{serial}/{session}", trickled ICE candidates
//     (application/trickle-ice-sdpfrag), answered 204;
//   - DELETE WHEPPrefix + "{serial}/{session}", answered 204.
//
// The relay names the caller in PrincipalHeader and their role in RoleHeader; a session
// answers only to the caller who started it, and takes PTZ commands on its "ptz" data
// channel only from an operator or admin. Errors are problem+json (bad-sdp, device-unknown, stream-unavailable,
// live-sessions-full, not-found), passed on by the relay.
const WHEPPrefix = "/v1/whep/"

// WHEPSessionHeader carries the ID of the live session a WHEP offer started.
const WHEPSessionHeader = "X-Camcloud-Whep-Session"

// PrincipalHeader names the person or application behind a relay request (their user or
// client ID).
const PrincipalHeader = "X-Camcloud-Principal"

// ValidStreamProfile reports whether p is empty (the camera's default stream) or a
// stream profile name a WHEP offer may ask for: at most 64 letters, digits, '-', '_' or
// '.', so that it cannot change the RTSP query it goes into.
func ValidStreamProfile(p string) bool {
	if len(p) > 64 {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// VMSListPath lists the VMS servers an admin registered for the edge host (agent ->
// relay): GET, answered with a JSON array of VMSServer. They are the only EdgeLink
// targets besides its devices.
const VMSListPath = "/v1/vms-servers"

// VMSServer is a VMS server on the edge host's network.
type VMSServer struct {
	Name    string `json:"name"`
	Address string `json:"address"` // host:port
	HTTPS   bool   `json:"https"`
}

// VMSPrefix is where an agent takes EdgeLink requests to a VMS server (relay -> agent):
// any method, VMSPrefix + "{name}/{path...}".
const VMSPrefix = "/v1/vms/"

// GraphQLPath is the agent's own GraphQL API (relay -> agent): POST. The relay names the
// caller's role in RoleHeader; mutations need "admin".
const GraphQLPath = "/v1/graphql"

// RoleHeader carries the role of the person or application behind a relay request.
const RoleHeader = "X-Camcloud-Role"

// RunTasksPath gives an agent tasks to run (relay -> agent): POST a JSON array of
// taskengine.Task, answered 200 with the records as journaled. Giving the same task ID
// and attempt again changes nothing.
const RunTasksPath = "/v1/tasks/run"

// CancelTasksPath cancels tasks at the agent (relay -> agent): POST a JSON array of task
// IDs, answered 204.
const CancelTasksPath = "/v1/tasks/cancel"

// ArtifactPath serves a release artifact to agents (agent -> relay): GET
// ArtifactPath + sha256 (hex).
const ArtifactPath = "/v1/artifacts/"

// ProfileCheckPath asks the relay to bring the agent's managed devices to their profiles
// (agent -> relay): POST, answered with what it decided (a job, tasks, skipped devices).
// Agents call it every release check interval (2 hours by default) and after onboarding.
const ProfileCheckPath = "/v1/profile-check"

// ReleaseKeyPath is the relay's release signing public key, PEM (agent -> relay): GET.
const ReleaseKeyPath = "/v1/release-key"

// OnboardPath asks an edge host to onboard discovered devices (relay -> agent): POST an
// OnboardRequest, answered 202 with OnboardResponse. The admin credentials in it are used
// once to create the agent's own account on each device and are never stored.
const OnboardPath = "/v1/onboard"

// OnboardRequest lists the devices to onboard and the profile they get.
type OnboardRequest struct {
	Devices []OnboardDevice `json:"devices"`
	Profile profile.Profile `json:"profile"`
}

// OnboardDevice is one device and its admin credentials.
type OnboardDevice struct {
	Serial   string `json:"serial"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// OnboardResponse lists the onboarding tasks the agent created, one per device.
type OnboardResponse struct {
	Tasks []TaskReport `json:"tasks"`
}

// Status describes a running agent.
type Status struct {
	AgentID string `json:"agentId"`
	Org     string `json:"org"`
	Kind    string `json:"kind"` // edgehost or devicehost
	Version string `json:"version"`
}

// DecodeBody reads the JSON body of a request that came over the link, within limit
// bytes, and answers 400 when it does not decode; it tells whether it decoded. Fields it
// does not know are ignored (pkg/edgelink/PROTOCOL.md, Versioning): the agent and the
// relay are upgraded on their own schedules, and a newer one may send more.
func DecodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if err := dec.Decode(v); err != nil {
		http.Error(w, r.URL.Path+": "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// StatusError is an answer over the link that is not 2xx.
type StatusError struct {
	Status string
	Body   string // its start, for the message
}

func (e *StatusError) Error() string { return "answered " + e.Status + ": " + e.Body }

// Call makes one JSON request over the link with hc (whose transport dials the link):
// in, when not nil, is the JSON body; out, when not nil, takes the JSON answer. An
// answer that is not 2xx is a *StatusError; transport errors are returned wrapped.
func Call(ctx context.Context, hc *http.Client, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return &StatusError{Status: resp.Status, Body: string(bytes.TrimSpace(msg))}
	}
	if out != nil {
		return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
