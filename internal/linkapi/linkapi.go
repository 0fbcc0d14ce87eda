// Package linkapi is what agents and the relay say to each other over the agent link
// (pkg/edgelink): the paths and bodies of the HTTP requests on its streams, defined once
// for both sides.
package linkapi

// InventoryPath takes an agent's inventory report (agent -> relay): POST, a JSON array of
// DeviceReport, answered 204. An edge host reports every device it manages; an agent on
// a device reports that device only.
const InventoryPath = "/v1/inventory"

// StatusPath is the agent's own status (relay -> agent): GET, answered with Status.
const StatusPath = "/v1/status"

// DeviceReport is one device's state as its agent sees it.
type DeviceReport struct {
	Serial          string `json:"serial"`
	Model           string `json:"model,omitempty"`
	FirmwareVersion string `json:"firmwareVersion,omitempty"`
	Reachable       bool   `json:"reachable"`
}

// Status describes a running agent.
type Status struct {
	AgentID string `json:"agentId"`
	Org     string `json:"org"`
	Kind    string `json:"kind"` // edgehost or devicehost
	Version string `json:"version"`
}
