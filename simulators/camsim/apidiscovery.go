package camsim

// apidiscovery.cgi (vapix.md section 4): the APIs an AXIS OS 12.11 camera lists, less
// those camsim does not serve (upnp, mqtt-client, event-mqtt-bridge, remote-syslog): a
// client that finds an API in the list may call it, so every listed API answers
// (apiwalk_test.go walks them all).

type apiEntry struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
	DocLink string `json:"docLink"`
	Status  string `json:"status,omitempty"`
}

const vapixLibrary = "https://www.axis.com/partner_pages/vapix_library/#/"

var apiList = []apiEntry{
	{"api-discovery", "1.1", "API Discovery Service", vapixLibrary, "official"},
	{"basic-device-info", "1.3", "Basic Device Information", vapixLibrary, "official"},
	{"param-cgi", "1.0", "Legacy Parameter Handling", vapixLibrary, "official"},
	{"fwmgr", "1.10", "Firmware Management", vapixLibrary, "official"},
	{"systemready", "1.4", "Systemready", vapixLibrary, "official"},
	{"user-management", "1.2", "User Management", vapixLibrary, "official"},
	{"packagemanager", "1.4", "Package Manager", vapixLibrary, ""},
	{"application", "1.0", "Application", vapixLibrary, "official"},
	{"dynamicoverlay", "1.8", "Dynamic Overlay", vapixLibrary, "official"},
	{"ptz-control", "2.1", "PTZ Control", vapixLibrary, "official"},
	{"media-cgi", "1.0", "Media CGI", vapixLibrary, "official"},
	{"event-streaming-over-websocket", "1.0", "Event streaming over WebSocket", vapixLibrary, "official"},
	{"time-service", "1.1", "Time API", vapixLibrary, "official"},
	{"ntp", "1.5", "NTP", vapixLibrary, "official"},
	{"oak", "1.0", "OAK", vapixLibrary, "official"},
	{"mdnssd", "1.1", "mDNS-SD", vapixLibrary, "official"},
	{"stream-profiles", "1.0", "Stream Profiles", vapixLibrary, "official"},
	{"network-settings", "1.37", "Network Settings", vapixLibrary, "official"},
	{"io-port-management", "1.1", "IO Port Management", vapixLibrary, "official"},
	{"view-area", "1.0", "View Area", vapixLibrary, "official"},
}

func (c *Camera) handleAPIDiscovery(q *request) {
	q.serveJSON(apiDiscovery, map[string]func(jsonRequest){
		"getApiList": func(req jsonRequest) {
			list := make([]apiEntry, 0, len(apiList))
			for _, e := range apiList {
				if e.ID == "ptz-control" && !c.id.Model.PTZ {
					continue
				}
				list = append(list, e)
			}
			q.jsonData(apiDiscovery, req, map[string]any{"apiList": list})
		},
	})
}
