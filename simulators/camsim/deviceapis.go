package camsim

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// JSON APIs that describe the device: mdnssd.cgi (mdnssd), network_settings.cgi
// (network-settings), io/portmanagement.cgi (io-port-management) and viewarea/info.cgi
// (view-area). Each reads the parameter tree, so it agrees with param.cgi. Method names
// are the documented ones; reply fields are [U] unless a comment says where they come
// from (see docs/camsim.md).

var (
	// Error codes of the basicdeviceinfo family (the I/O port management codes Kane610
	// lists are the same) [U for mdnssd and network settings].
	apiMdnssd          = jsonAPI{version: "1.1", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 4002, badJSONText: "Invalid JSON", badMethodText: "Method not supported"}
	apiNetworkSettings = jsonAPI{version: "1.37", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 4002, badJSONText: "Invalid JSON", badMethodText: "Method not supported"}
	apiIOPorts         = jsonAPI{version: "1.1", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 1000, badJSONText: "Invalid JSON", badMethodText: "Method not supported"}
	// View area codes as Kane610 lists them: 1100 internal, 2100 version, 2101 JSON,
	// 2102 method, 2103 missing parameter, 2104 invalid parameter.
	apiViewArea = jsonAPI{version: "1.0", badJSON: 2101, badMethod: 2102, badVersion: 2100, badParams: 2104, badJSONText: "Invalid JSON", badMethodText: "Method not supported"}
)

func (c *Camera) handleMdnssd(q *request) {
	api := apiMdnssd
	q.serveJSON(api, map[string]func(jsonRequest){
		"getMdnssdInfo": func(req jsonRequest) {
			var enabled, name string
			c.view(func(st *State) {
				enabled = c.paramValue(st, "Network.Bonjour.Enabled")
				name = c.paramValue(st, "Network.Bonjour.FriendlyName")
			})
			q.jsonData(api, req, map[string]any{"enabled": enabled == "yes", "friendlyName": name})
		},
	})
}

func (c *Camera) handleNetworkSettings(q *request) {
	api := apiNetworkSettings
	q.serveJSON(api, map[string]func(jsonRequest){
		"getNetworkInfo": func(req jsonRequest) {
			if !q.require(Operator, true) {
				return
			}
			p := func(name string) string {
				var v string
				c.view(func(st *State) { v = c.paramValue(st, name) })
				return v
			}
			ones, _ := net.IPMask(net.ParseIP(p("Network.eth0.SubnetMask")).To4()).Size()
			var servers []string
			for _, s := range strings.Split(p("Network.Resolver.NameServerList"), ",") {
				if s != "" {
					servers = append(servers, s)
				}
			}
			dhcp := p("Network.BootProto") == "dhcp"
			mode := "dhcp"
			if !dhcp {
				mode = "static"
			}
			data := map[string]any{
				"system": map[string]any{
					"hostname": map[string]any{
						"hostname":        p("Network.HostName"),
						"staticHostname":  p("Network.HostName"),
						"useDhcpHostname": p("Network.VolatileHostName.ObtainFromDHCP") == "yes",
					},
					"resolver": map[string]any{
						"useDhcpResolverInfo": p("Network.Resolver.ObtainFromDHCP") == "yes",
						"nameServers":         nonNilList(servers),
						"searchDomains":       []string{},
						"domainName":          p("Network.DomainName"),
						"staticNameServers":   []string{},
						"staticSearchDomains": []string{},
						"staticDomainName":    "",
					},
				},
				"devices": []any{map[string]any{
					"name":       "eth0",
					"macAddress": strings.ToLower(c.id.MAC()),
					"type":       "wired",
					"IPv4": map[string]any{
						"enabled":           true,
						"configurationMode": mode,
						"linkLocalMode":     map[bool]string{true: "on", false: "off"}[p("Network.ZeroConf.Enabled") == "yes"],
						"defaultRouter":     p("Network.DefaultRouter"),
						"addresses": []any{map[string]any{
							"address":      p("Network.eth0.IPAddress"),
							"prefixLength": ones,
							"broadcast":    p("Network.eth0.Broadcast"),
							"origin":       mode,
							"scope":        "global",
						}},
						"staticDefaultRouter":         "",
						"staticAddressConfigurations": []any{},
					},
					"IPv6": map[string]any{"enabled": p("Network.IPv6.Enabled") == "yes", "addresses": []any{}},
				}},
			}
			q.jsonData(api, req, data)
		},
	})
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ioPort is a port as getPorts lists it (fields as Kane610/axis models them).
type ioPort struct {
	Port         string `json:"port"` // 0-based
	Configurable bool   `json:"configurable"`
	Usage        string `json:"usage"`
	Name         string `json:"name"`
	Direction    string `json:"direction"`
	State        string `json:"state"`
	NormalState  string `json:"normalState"`
}

func opposite(s string) string {
	if s == "open" {
		return "closed"
	}
	return "open"
}

// ioPorts lists the model's ports from the IOPort.I<n> parameters: an input whose trigger
// (Input.Trig) is "closed" is normally open, and closed while active; an output's normal
// state is the opposite of its active state (Output.Active).
func (c *Camera) ioPorts(st *State) []ioPort {
	specs := modelIOPorts(c.id.Model)
	out := make([]ioPort, 0, len(specs))
	for i, s := range specs {
		g := "IOPort.I" + strconv.Itoa(i) + "."
		p := ioPort{Port: strconv.Itoa(i), Configurable: s.configurable, Direction: c.paramValue(st, g+"Direction"), Usage: c.paramValue(st, g+"Usage")}
		if p.Direction == "input" {
			p.Name = c.paramValue(st, g+"Input.Name")
			p.NormalState = opposite(c.paramValue(st, g+"Input.Trig"))
			p.State = p.NormalState
			if c.inputActive(i + 1) {
				p.State = opposite(p.NormalState)
			}
		} else {
			p.Name = c.paramValue(st, g+"Output.Name")
			p.NormalState = opposite(c.paramValue(st, g+"Output.Active"))
			p.State = p.NormalState
			if e, ok := c.events.current(TopicRelay, map[string]string{"RelayToken": strconv.Itoa(i)}); ok && e.Data["LogicalState"] == "active" {
				p.State = opposite(p.NormalState)
			}
		}
		out = append(out, p)
	}
	return out
}

func (c *Camera) handleIOPorts(q *request) {
	api := apiIOPorts
	q.serveJSON(api, map[string]func(jsonRequest){
		"getPorts": func(req jsonRequest) {
			var st State
			c.view(func(s *State) { st = cloneState(*s) })
			ports := c.ioPorts(&st)
			data := map[string]any{"numberOfPorts": len(ports)}
			if len(ports) > 0 {
				data["items"] = ports
			}
			q.jsonData(api, req, data)
		},
		"setPorts": func(req jsonRequest) {
			var p struct {
				Ports []struct {
					Port        string  `json:"port"`
					Usage       *string `json:"usage"`
					Direction   *string `json:"direction"`
					Name        *string `json:"name"`
					NormalState *string `json:"normalState"`
					State       *string `json:"state"`
				} `json:"ports"`
			}
			if !q.params(api, req, &p) || !q.require(Operator, true) {
				return
			}
			specs := modelIOPorts(c.id.Model)
			var relays []Event
			err := c.update(func(st *State) error {
				var errs []error
				if len(p.Ports) == 0 {
					return errParamRejected
				}
				for _, pp := range p.Ports {
					i, err := strconv.Atoi(pp.Port)
					if err != nil || i < 0 || i >= len(specs) || strconv.Itoa(i) != pp.Port {
						return errParamRejected
					}
					g := "IOPort.I" + strconv.Itoa(i) + "."
					if pp.Direction != nil && *pp.Direction != "" {
						errs = append(errs, c.setParam(st, g+"Direction", *pp.Direction))
					}
					dir := c.paramValue(st, g+"Direction")
					if pp.Usage != nil {
						errs = append(errs, c.setParam(st, g+"Usage", *pp.Usage))
					}
					if pp.Name != nil && *pp.Name != "" {
						errs = append(errs, c.setParam(st, g+map[bool]string{true: "Input.Name", false: "Output.Name"}[dir == "input"], *pp.Name))
					}
					if pp.NormalState != nil && *pp.NormalState != "" {
						if *pp.NormalState != "open" && *pp.NormalState != "closed" {
							return errParamRejected
						}
						key := g + "Output.Active"
						if dir == "input" {
							key = g + "Input.Trig"
						}
						errs = append(errs, c.setParam(st, key, opposite(*pp.NormalState)))
					}
					if pp.State != nil && *pp.State != "" {
						// Only outputs can be driven; an input's state is the world's.
						if dir != "output" || *pp.State != "open" && *pp.State != "closed" {
							return errParamRejected
						}
						normal := opposite(c.paramValue(st, g+"Output.Active"))
						logical := "inactive"
						if *pp.State != normal {
							logical = "active"
						}
						relays = append(relays, Event{Topic: TopicRelay, Source: map[string]string{"RelayToken": strconv.Itoa(i)}, Data: map[string]string{"LogicalState": logical}})
					}
				}
				return errors.Join(errs...)
			})
			if err != nil {
				q.jsonError(api, req, api.badParams, "Invalid parameter value specified")
				return
			}
			for _, e := range relays {
				c.publishProperty(e.Topic, e.Source, e.Data)
			}
			q.jsonData(api, req, struct{}{})
		},
	})
}

// handleViewArea answers viewarea/info.cgi: one view area per camera (channel), covering
// the whole sensor at the model's largest resolution (fields as Kane610/axis models them).
func (c *Camera) handleViewArea(q *request) {
	api := apiViewArea
	q.serveJSON(api, map[string]func(jsonRequest){
		"list": func(req jsonRequest) {
			w, h := 0, 0
			if res := c.id.Model.Resolutions; len(res) > 0 {
				ws, hs, _ := strings.Cut(res[0], "x")
				w, _ = strconv.Atoi(ws)
				h, _ = strconv.Atoi(hs)
			}
			size := map[string]int{"horizontal": w, "vertical": h}
			area := map[string]any{
				"id": 1, "source": 0, "camera": 1, "configurable": !c.id.Model.PTZ,
			}
			if !c.id.Model.PTZ {
				area["canvasSize"] = size
				area["rectangularGeometry"] = map[string]int{"horizontalOffset": 0, "horizontalSize": w, "verticalOffset": 0, "verticalSize": h}
				area["minSize"] = map[string]int{"horizontal": 64, "vertical": 64}
				area["maxSize"] = size
				area["grid"] = map[string]int{"horizontalOffset": 0, "horizontalSize": 1, "verticalOffset": 0, "verticalSize": 1}
			}
			q.jsonData(api, req, map[string]any{"viewAreas": []any{area}})
		},
	})
}
