package egress

import "github.com/opencamcloud/camcloud/internal/problem"

// The problem types a Proxy answers with besides problem.MethodNotAllowed, defined in
// internal/problem's catalogue since the relay passes them on to callers unchanged.
var (
	DeviceUnknown     = problem.DeviceUnknown
	PathRefused       = problem.PathRefused
	DeviceUnreachable = problem.DeviceUnreachable
	DeviceTimeout     = problem.DeviceTimeout
	DeviceAuthFailed  = problem.DeviceAuthFailed
	DeviceRedirect    = problem.DeviceRedirect
	AddressRefused    = problem.AddressRefused
	TooBusy           = problem.EdgeLinkBusy
)
