package egress

import (
	"net/http"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// problemBase prefixes the problem types, as in internal/problem.
const problemBase = "https://camcloud.dev/problems/"

// The problem types a Proxy answers with besides problem.MethodNotAllowed. The relay
// passes them on to callers unchanged, so they are part of the API (see Problems).
var (
	// DeviceUnknown: the serial is not one of the agent's devices.
	DeviceUnknown = problem.Type{URI: problemBase + "device-unknown", Status: http.StatusNotFound, Title: "Unknown device"}
	// PathRefused: the request target is not a clean path under /vapix/.
	PathRefused = problem.Type{URI: problemBase + "vapix-path-refused", Status: http.StatusBadRequest, Title: "VAPIX path refused"}
	// DeviceUnreachable: the device did not accept a connection or dropped it unanswered.
	DeviceUnreachable = problem.Type{URI: problemBase + "device-unreachable", Status: http.StatusBadGateway, Title: "Device unreachable"}
	// DeviceTimeout: the device accepted the request but did not answer in time.
	DeviceTimeout = problem.Type{URI: problemBase + "device-timeout", Status: http.StatusGatewayTimeout, Title: "Device timeout"}
	// DeviceAuthFailed: the device refused the agent's own credentials.
	DeviceAuthFailed = problem.Type{URI: problemBase + "device-auth-failed", Status: http.StatusBadGateway, Title: "Device refused the agent's credentials"}
	// DeviceRedirect: the device redirected to somewhere other than itself.
	DeviceRedirect = problem.Type{URI: problemBase + "device-redirect", Status: http.StatusBadGateway, Title: "Device redirected elsewhere"}
	// TooBusy: the agent has Config.MaxConcurrent device requests in flight already.
	TooBusy = problem.Type{URI: problemBase + "egress-busy", Status: http.StatusServiceUnavailable, Title: "Too many device requests"}
)

// Problems lists the types above, for the relay's API description.
func Problems() []problem.Type {
	return []problem.Type{DeviceUnknown, PathRefused, DeviceUnreachable, DeviceTimeout, DeviceAuthFailed, DeviceRedirect, TooBusy}
}
