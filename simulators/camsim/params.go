package camsim

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// param.cgi (vapix.md section 5): the legacy parameter tree. Values derived from the
// device (identity, model, firmware) are read-only and always agree with basicdeviceinfo
// and fwmgr; writable values start at a default and are overridden by State.Params.

type paramDef struct {
	name     string // without "root."
	value    func(c *Camera, st *State) string
	writable bool
	secret   bool     // listed as ******
	choices  []string // allowed values of a writable param (nil: anything)
}

func fixed(v string) func(*Camera, *State) string { return func(*Camera, *State) string { return v } }

var yesNo = []string{"yes", "no"}

// paramDefs is one coherent device (a P3265-V-like camera on AXIS OS 12.11, with the
// model's own facts). Order is the listing order. The definitions depend only on the
// camera's identity, so they are made once; callers must not change them.
func (c *Camera) paramDefs() []paramDef {
	c.defsOnce.Do(func() { c.defs = c.buildParamDefs() })
	return c.defs
}

func (c *Camera) buildParamDefs() []paramDef {
	m := c.id.Model
	defs := []paramDef{
		{name: "Brand.Brand", value: fixed("AXIS")},
		{name: "Brand.ProdFullName", value: fixed(m.ProdFullName)},
		{name: "Brand.ProdNbr", value: fixed(m.ProdNbr)},
		{name: "Brand.ProdShortName", value: fixed(m.ProdShortName())},
		{name: "Brand.ProdType", value: fixed(m.ProdType)},
		{name: "Brand.ProdVariant", value: fixed("")},
		{name: "Brand.WebURL", value: fixed("http://www.axis.com")},
		{name: "HTTPS.Enabled", value: fixed("yes"), writable: true, choices: yesNo},
		{name: "Image.I0.Name", value: fixed("View Area 1"), writable: true},
		{name: "Image.I0.Appearance.Compression", value: fixed("30"), writable: true},
		{name: "Image.I0.Appearance.Resolution", value: fixed(m.Resolutions[0]), writable: true, choices: m.Resolutions},
		{name: "Image.I0.Stream.FPS", value: fixed("30"), writable: true},
		{name: "Image.I0.Text.String", value: fixed(""), writable: true},
		{name: "Image.I0.Text.TextEnabled", value: fixed("no"), writable: true, choices: yesNo},
		{name: "ImageSource.NbrOfSources", value: fixed("1")},
		{name: "Network.BootProto", value: fixed("dhcp"), writable: true, choices: []string{"dhcp", "none"}},
		{name: "Network.HostName", value: fixed(c.id.HostName()), writable: true},
		{name: "Network.Bonjour.Enabled", value: fixed("yes"), writable: true, choices: yesNo},
		{name: "Network.Bonjour.FriendlyName", value: func(c *Camera, st *State) string { return c.defaultBonjourName(st) }, writable: true},
		{name: "Network.DHCP.VendorClass", value: func(c *Camera, st *State) string {
			return fmt.Sprintf("AXIS,%s,%s,%s", m.ProdType, m.ProdNbr, st.Firmware.Version)
		}},
		{name: "Network.HTTP.AuthenticationPolicy", value: fixed("recommended"), writable: true, choices: []string{"recommended", "digest", "basic"}},
		{name: "Network.RTSP.Enabled", value: fixed("yes"), writable: true, choices: yesNo},
		{name: "Network.RTSP.Port", value: func(c *Camera, _ *State) string { return c.rtspPort() }},
		{name: "Network.RTSPS.Port", value: fixed("322")},
		{name: "Network.UPnP.Enabled", value: func(_ *Camera, st *State) string { return defaultUPnP(st) }, writable: true, choices: yesNo},
		{name: "Network.UPnP.FriendlyName", value: fixed(m.ProdShortName() + " - " + c.id.Serial), writable: true},
		{name: "Network.eth0.IPAddress", value: func(c *Camera, _ *State) string { return c.ipAddress() }},
		{name: "Network.eth0.MACAddress", value: fixed(c.id.MAC())},
		{name: "Properties.API.HTTP.Version", value: fixed("3")},
		{name: "Properties.ApiDiscovery.ApiDiscovery", value: fixed("yes")},
		{name: "Properties.Firmware.BuildDate", value: func(_ *Camera, st *State) string { return st.Firmware.BuildDate }},
		{name: "Properties.Firmware.BuildNumber", value: func(_ *Camera, st *State) string {
			v := st.Firmware.Version
			return v[strings.LastIndex(v, ".")+1:]
		}},
		{name: "Properties.Firmware.Version", value: func(_ *Camera, st *State) string { return st.Firmware.Version }},
		{name: "Properties.FirmwareManagement.Version", value: fixed(apiFirmware.version)},
		{name: "Properties.Image.Format", value: fixed("jpeg,mjpeg,h264,h265")},
		{name: "Properties.Image.NbrOfViews", value: fixed("2")},
		{name: "Properties.Image.Resolution", value: fixed(strings.Join(m.Resolutions, ","))},
		{name: "Properties.PTZ.PTZ", value: fixed(yesNoOf(m.PTZ))},
		{name: "Properties.System.Architecture", value: fixed(m.Architecture)},
		{name: "Properties.System.HardwareID", value: fixed(m.HardwareID)},
		{name: "Properties.System.SerialNumber", value: fixed(c.id.Serial)},
		{name: "Properties.System.Soc", value: fixed(m.Soc)},
	}
	if m.PTZ {
		f := func(v float64) func(*Camera, *State) string { return fixed(strconv.FormatFloat(v, 'f', -1, 64)) }
		defs = append(defs,
			paramDef{name: "PTZ.Limit.L1.MaxPan", value: f(ptzMaxPan)},
			paramDef{name: "PTZ.Limit.L1.MaxTilt", value: f(ptzMaxTilt)},
			paramDef{name: "PTZ.Limit.L1.MaxZoom", value: f(ptzMaxZoom)},
			paramDef{name: "PTZ.Limit.L1.MinPan", value: f(ptzMinPan)},
			paramDef{name: "PTZ.Limit.L1.MinTilt", value: f(ptzMinTilt)},
			paramDef{name: "PTZ.Limit.L1.MinZoom", value: f(ptzMinZoom)},
			paramDef{name: "PTZ.Support.S1.AbsolutePan", value: fixed("true")},
			paramDef{name: "PTZ.Support.S1.AbsoluteTilt", value: fixed("true")},
			paramDef{name: "PTZ.Support.S1.AbsoluteZoom", value: fixed("true")},
			paramDef{name: "PTZ.Support.S1.ContinuousPan", value: fixed("true")},
		)
	}
	defs = append(defs,
		paramDef{name: "SMTP.Password", value: fixed(""), writable: true, secret: true},
		paramDef{name: "StatusLed.Usage", value: fixed("on"), writable: true, choices: []string{"on", "off"}},
		paramDef{name: "StreamProfile.MaxGroups", value: fixed("26")},
		paramDef{name: "StreamProfile.S0.Description", value: fixed(""), writable: true},
		paramDef{name: "StreamProfile.S0.Name", value: fixed("profile_1"), writable: true},
		paramDef{name: "StreamProfile.S0.Parameters", value: fixed("videocodec=h264"), writable: true},
		paramDef{name: "System.BoaPort", value: fixed("80")},
		paramDef{name: "Time.DST.Enabled", value: fixed("yes"), writable: true, choices: yesNo},
		paramDef{name: "Time.POSIXTimeZone", value: fixed("CET-1CEST,M3.5.0,M10.5.0/3"), writable: true},
		paramDef{name: "Time.SyncSource", value: fixed("NTP"), writable: true, choices: []string{"NTP", "DHCP", "none"}},
	)
	return defs
}

func yesNoOf(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// paramAddTemplates are the groups action=add can create instances of, with the params
// each new instance has.
var paramAddTemplates = map[string]struct {
	group  string
	params []string
}{
	"streamprofile": {group: "StreamProfile", params: []string{"Description", "Name", "Parameters"}},
}

// param is one listed value.
type param struct {
	name, value string
	def         *paramDef // nil for an added instance (always writable)
}

// params resolves the whole tree for a state.
func (c *Camera) params(st *State) []param {
	defs := c.paramDefs()
	out := make([]param, 0, len(defs)+len(st.Params))
	known := make(map[string]bool, len(defs))
	for i := range defs {
		d := &defs[i]
		v := d.value(c, st)
		if d.writable {
			if set, ok := st.Params[d.name]; ok {
				v = set
			}
		}
		out = append(out, param{name: d.name, value: v, def: d})
		known[d.name] = true
	}
	var added []string
	for name := range st.Params {
		if !known[name] {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	for _, name := range added {
		out = append(out, param{name: name, value: st.Params[name]})
	}
	return out
}

// paramPrivilege is who may list a group (vapix.md 5.x/1.3, camsim's choice): viewers the
// descriptive groups, operators the rest, admins Network and System.
func paramPrivilege(name string, update bool) Privilege {
	top, _, _ := strings.Cut(name, ".")
	switch top {
	case "Network", "System":
		return Admin
	case "HTTPS", "SMTP":
		if update {
			return Admin
		}
		return Operator
	case "Brand", "Properties", "Image", "PTZ":
		if update {
			return Operator
		}
		return Viewer
	}
	return Operator
}

func (c *Camera) handleParam(q *request) {
	if q.auth != authOK || q.user.Level() < Viewer {
		q.challenge()
		return
	}
	args := q.args()
	switch action := args.Get("action"); action {
	case "list":
		c.paramList(q, args.Get("group"))
	case "update":
		c.paramUpdate(q, args)
	case "add":
		c.paramAdd(q, args)
	case "remove":
		c.paramRemove(q, args.Get("group"))
	default:
		q.text(http.StatusOK, fmt.Sprintf("# Error: Unknown action '%s'\n", action))
	}
}

// paramList writes Name=value lines; a group the device does not have becomes an error
// line in its place, and each group echoes the root. prefix as requested.
func (c *Camera) paramList(q *request, groups string) {
	var st State
	c.view(func(s *State) { st = cloneState(*s) })
	all := c.params(&st)
	level := q.user.Level()
	var b strings.Builder
	write := func(p param, prefix string) {
		v := p.value
		if p.def != nil && p.def.secret {
			v = "******"
		}
		b.WriteString(prefix + p.name + "=" + v + "\n")
	}
	if groups == "" {
		for _, p := range all {
			if level >= paramPrivilege(p.name, false) {
				write(p, "root.")
			}
		}
		q.text(http.StatusOK, b.String())
		return
	}
	for _, g := range strings.Split(groups, ",") {
		g = strings.TrimSpace(g)
		name, rooted := strings.CutPrefix(g, "root.")
		prefix := ""
		if rooted {
			prefix = "root."
		}
		if name == "root" || g == "root" {
			name, prefix = "", "root."
		}
		if level < paramPrivilege(name, false) {
			q.challenge()
			return
		}
		found := false
		for _, p := range all {
			switch {
			case name == "": // the whole tree, as much of it as the account may list
				if level >= paramPrivilege(p.name, false) {
					write(p, prefix)
					found = true
				}
			case p.name == name || strings.HasPrefix(p.name, name+"."):
				write(p, prefix)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(&b, "# Error: Error -1 getting param in group '%s'\n", g)
		}
	}
	q.text(http.StatusOK, b.String())
}

// paramUpdate sets every given param or none: one unknown, read-only or invalid value
// fails the whole request.
func (c *Camera) paramUpdate(q *request, args map[string][]string) {
	type change struct{ name, value, asked string }
	var changes []change
	keys := make([]string, 0, len(args))
	for k := range args {
		if k != "action" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := args[k][len(args[k])-1]
		changes = append(changes, change{name: strings.TrimPrefix(k, "root."), value: v, asked: k})
	}
	if len(changes) == 0 {
		q.text(http.StatusOK, "# Error: No parameters to update\n")
		return
	}
	for _, ch := range changes {
		if q.user.Level() < paramPrivilege(ch.name, true) {
			q.challenge()
			return
		}
	}
	var failed *change
	err := c.update(func(st *State) error {
		all := c.params(st)
		byName := make(map[string]param, len(all))
		for _, p := range all {
			byName[p.name] = p
		}
		for i, ch := range changes {
			p, ok := byName[ch.name]
			if !ok || p.def != nil && !p.def.writable || p.def != nil && p.def.choices != nil && !slices.Contains(p.def.choices, ch.value) {
				failed = &changes[i]
				return errParamRejected
			}
			st.Params[ch.name] = ch.value
		}
		return nil
	})
	if failed != nil {
		q.text(http.StatusOK, fmt.Sprintf("# Error: Error setting 'root.%s' to '%s'!\n", failed.name, failed.value))
		return
	}
	if err != nil {
		q.text(http.StatusInternalServerError, "# Error: "+err.Error()+"\n")
		return
	}
	q.text(http.StatusOK, "OK\n")
}

var errParamRejected = fmt.Errorf("parameter rejected")

// paramAdd creates the next instance of a template group: action=add&template=streamprofile
// &group=StreamProfile&StreamProfile.S.Name=x answers "S1 OK".
func (c *Camera) paramAdd(q *request, args map[string][]string) {
	get := func(k string) string {
		if v := args[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	tmpl, ok := paramAddTemplates[strings.ToLower(get("template"))]
	group := strings.TrimPrefix(get("group"), "root.")
	if !ok || group != tmpl.group {
		q.text(http.StatusOK, fmt.Sprintf("# Error: Error adding group '%s' with template '%s'\n", get("group"), get("template")))
		return
	}
	if q.user.Level() < paramPrivilege(group, true) {
		q.challenge()
		return
	}
	var instance string
	_ = c.update(func(st *State) error {
		used := map[string]bool{}
		for _, p := range c.params(st) {
			if rest, ok := strings.CutPrefix(p.name, group+"."); ok {
				inst, _, _ := strings.Cut(rest, ".")
				used[inst] = true
			}
		}
		n := 0
		for used["S"+strconv.Itoa(n)] {
			n++
		}
		instance = "S" + strconv.Itoa(n)
		for _, name := range tmpl.params {
			st.Params[group+"."+instance+"."+name] = get(group + ".S." + name)
		}
		return nil
	})
	q.text(http.StatusOK, instance+" OK\n")
}

// paramRemove removes an added instance; the device's own groups cannot be removed.
func (c *Camera) paramRemove(q *request, group string) {
	name := strings.TrimPrefix(group, "root.")
	if q.user.Level() < paramPrivilege(name, true) {
		q.challenge()
		return
	}
	removed := false
	_ = c.update(func(st *State) error {
		for k := range st.Params {
			if strings.HasPrefix(k, name+".") {
				builtin := false
				for _, d := range c.paramDefs() {
					if d.name == k {
						builtin = true
					}
				}
				if builtin {
					return errParamRejected
				}
			}
		}
		for k := range st.Params {
			if name != "" && strings.HasPrefix(k, name+".") {
				delete(st.Params, k)
				removed = true
			}
		}
		if !removed {
			return errParamRejected
		}
		return nil
	})
	if !removed {
		q.text(http.StatusOK, fmt.Sprintf("# Error: Error removing group '%s'\n", group))
		return
	}
	q.text(http.StatusOK, "OK\n")
}

// ipAddress is the address the camera listens on, as Network.eth0.IPAddress reports it.
func (c *Camera) ipAddress() string {
	c.netMu.Lock()
	addr := c.addr
	c.netMu.Unlock()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return host
}

// rtspPort is the camera's RTSP port as Network.RTSP.Port reports it: the port it really
// serves on, so that a client building rtsp:// URLs from parameters reaches it.
func (c *Camera) rtspPort() string {
	c.netMu.Lock()
	addr := c.rtspAddr
	c.netMu.Unlock()
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return "554"
}
