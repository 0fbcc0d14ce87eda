package store

import (
	"strings"
	"testing"
)

// An agent on a device is known by its device's serial, whatever case the serial came
// in; an edge host's ID names no device.
func TestAgentDeviceInvertsDeviceAgentID(t *testing.T) {
	for _, serial := range []string{"ACCC8E000001", "accc8e0000ff"} {
		if got, ok := AgentDevice(DeviceAgentID(serial)); !ok || got != strings.ToUpper(serial) {
			t.Errorf("AgentDevice(DeviceAgentID(%q)) = %q, %v; want %q, true", serial, got, ok, strings.ToUpper(serial))
		}
	}
	for _, id := range []string{"eh_l6q4a6oawowcyen2", "", "dev"} {
		if got, ok := AgentDevice(id); ok {
			t.Errorf("AgentDevice(%q) = %q, true: an edge host runs on no device", id, got)
		}
	}
}
