package camsim

import (
	_ "embed"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The parameter tree (vapix.md section 5) is the whole tree a real camera lists, about
// 700 parameters. Its shape comes from paramtree.txt, a template derived from a real
// camera's list (reference/samples/param-list-all-m1065lw.txt): the sample's own facts
// (serial, MAC, address, model, firmware, resolutions) are replaced by placeholders that
// each camera fills with its own.
//
// Template lines are Name=value, optionally preceded by flags:
//
//	@ro      read-only (Brand.* and Properties.* always are)
//	@secret  listed as ******
//	@ptz     only on PTZ models
//	@gen X   not a parameter: the place where generated parameters X are listed
//
// Placeholders {{Name}} that depend only on the model are filled once per model; those
// that depend on the camera or its state (serial, address, firmware) when listed. So the
// definitions are shared by every camera of a model, and a fleet of a thousand cameras
// holds five trees, not a thousand.

//go:embed paramtree.txt
var paramTreeText string

// modelTrees caches the definitions of each model, by ProdNbr.
var modelTrees sync.Map // string -> *paramTree

type paramTree struct {
	defs  []paramDef
	known map[string]bool // names of defs that are parameters
	index map[string]int  // position of each parameter's def
}

// treeFor returns the model's tree, building it on first use.
func treeFor(m Model) *paramTree {
	if t, ok := modelTrees.Load(m.ProdNbr); ok {
		return t.(*paramTree)
	}
	t, _ := modelTrees.LoadOrStore(m.ProdNbr, buildParamTree(m))
	return t.(*paramTree)
}

// modelPlaceholders are the values fixed by the model.
func modelPlaceholders(m Model) *strings.Replacer {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	res := ""
	if len(m.Resolutions) > 0 {
		res = m.Resolutions[0]
	}
	return strings.NewReplacer(
		"{{ProdFullName}}", m.ProdFullName,
		"{{ProdNbr}}", m.ProdNbr,
		"{{ProdType}}", m.ProdType,
		"{{ProdShortName}}", m.ProdShortName(),
		"{{Resolutions}}", strings.Join(m.Resolutions, ","),
		"{{Resolution}}", res,
		"{{Architecture}}", m.Architecture,
		"{{HardwareID}}", m.HardwareID,
		"{{Soc}}", m.Soc,
		"{{PTZ}}", yesNoOf(m.PTZ),
		"{{FwmgrVersion}}", apiFirmware.version,
		"{{MaxPan}}", f(ptzMaxPan), "{{MinPan}}", f(ptzMinPan),
		"{{MaxTilt}}", f(ptzMaxTilt), "{{MinTilt}}", f(ptzMinTilt),
		"{{MaxZoom}}", f(ptzMaxZoom), "{{MinZoom}}", f(ptzMinZoom),
	)
}

// paramChoices are the values a writable param accepts where the template's value does
// not say (yes/no and true/false params accept those two).
func paramChoices(m Model, name, value string) []string {
	switch {
	case strings.HasSuffix(name, ".Appearance.Resolution"):
		return m.Resolutions
	}
	switch name {
	case "Network.BootProto", "Network.Interface.I0.Link.BootProto":
		return []string{"dhcp", "none"}
	case "Network.HTTP.AuthenticationPolicy":
		return []string{"recommended", "digest", "basic"}
	case "Time.SyncSource":
		return []string{"NTP", "DHCP", "none"}
	case "StatusLed.Usage":
		return []string{"on", "off"}
	}
	switch value {
	case "yes", "no":
		return yesNo
	case "true", "false":
		return []string{"true", "false"}
	}
	return nil
}

func buildParamTree(m Model) *paramTree {
	fill := modelPlaceholders(m)
	t := &paramTree{known: map[string]bool{}, index: map[string]int{}}
	for i, line := range strings.Split(paramTreeText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var ro, secret, ptzOnly bool
		for strings.HasPrefix(line, "@") {
			flag, rest, _ := strings.Cut(line, " ")
			switch flag {
			case "@ro":
				ro = true
			case "@secret":
				secret = true
			case "@ptz":
				ptzOnly = true
			case "@gen":
				t.defs = append(t.defs, t.generated(m, strings.TrimSpace(rest))...)
				rest = ""
			default:
				panic(fmt.Sprintf("paramtree.txt:%d: unknown flag %s", i+1, flag))
			}
			line = rest
		}
		if line == "" || ptzOnly && !m.PTZ {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			panic(fmt.Sprintf("paramtree.txt:%d: no '='", i+1))
		}
		value = fill.Replace(value)
		top, _, _ := strings.Cut(name, ".")
		d := paramDef{
			name:     name,
			tmpl:     value,
			dynamic:  strings.Contains(value, "{{"),
			writable: !ro && top != "Brand" && top != "Properties",
			secret:   secret,
		}
		if d.writable {
			d.choices = paramChoices(m, name, value)
		}
		t.defs = append(t.defs, d)
		t.known[name] = true
	}
	for i, d := range t.defs {
		if d.gen == "" {
			t.index[d.name] = i
		}
	}
	return t
}

// paramValue is the current value of one parameter of the tree or of an added instance
// ("" when there is none), as param.cgi would list it.
func (c *Camera) paramValue(st *State, name string) string {
	tree := treeFor(c.id.Model)
	i, ok := tree.index[name]
	if !ok {
		return st.Params[name]
	}
	d := &tree.defs[i]
	if d.writable {
		if v, ok := st.Params[name]; ok {
			return v
		}
	}
	if d.dynamic {
		return c.paramEnv(st).Replace(d.tmpl)
	}
	return d.tmpl
}

// setParam changes a writable parameter of the tree from another API (time.cgi,
// streamprofile.cgi, ...), so that param.cgi and that API always agree. It refuses what
// param.cgi's update would refuse.
func (c *Camera) setParam(st *State, name, value string) error {
	tree := treeFor(c.id.Model)
	if i, ok := tree.index[name]; ok {
		d := &tree.defs[i]
		if !d.writable || d.choices != nil && !slices.Contains(d.choices, value) {
			return fmt.Errorf("set %s to %q: %w", name, value, errParamRejected)
		}
	}
	st.Params[name] = value
	return nil
}

// ioPortSpec is one I/O port of a model.
type ioPortSpec struct {
	direction    string // input or output
	configurable bool
	name         string
}

// modelIOPorts are the I/O ports of each model: plausible counts for each product family
// (fixed minidomes such as the M3106 have none), not recordings.
func modelIOPorts(m Model) []ioPortSpec {
	switch m.ProdNbr {
	case "P3265-V", "P1455-LE":
		return []ioPortSpec{{"input", true, "Port 1"}}
	case "Q6135-LE":
		return []ioPortSpec{{"input", false, "Input 1"}, {"output", false, "Output 1"}}
	}
	return nil
}

// generated are the parameters a @gen line stands for. Those listed at list time (from
// the state) leave a marker def that params expands.
func (t *paramTree) generated(m Model, what string) []paramDef {
	var defs []paramDef
	add := func(name, value string, writable bool) {
		d := paramDef{name: name, tmpl: value, writable: writable}
		if writable {
			d.choices = paramChoices(m, name, value)
		}
		defs = append(defs, d)
		t.known[name] = true
	}
	ports := modelIOPorts(m)
	switch what {
	case "inputs":
		inputs := 0
		for _, p := range ports {
			if p.direction == "input" || p.configurable {
				inputs++
			}
		}
		add("Input.NbrOfInputs", strconv.Itoa(inputs), false)
		for i, p := range ports {
			g := "IOPort.I" + strconv.Itoa(i) + "."
			add(g+"Configurable", yesNoOf(p.configurable), false)
			if p.configurable {
				defs = append(defs, paramDef{name: g + "Direction", tmpl: p.direction, writable: true, choices: []string{"input", "output"}})
				t.known[g+"Direction"] = true
			} else {
				add(g+"Direction", p.direction, false)
			}
			add(g+"Usage", "", true)
			if p.direction == "input" || p.configurable {
				add(g+"Input.Name", p.name, true)
				add(g+"Input.Trig", "closed", true)
			}
			if p.direction == "output" || p.configurable {
				add(g+"Output.Active", "closed", true)
				add(g+"Output.Name", p.name, true)
			}
		}
	case "outputs":
		outputs := 0
		for _, p := range ports {
			if p.direction == "output" || p.configurable {
				outputs++
			}
		}
		add("Output.NbrOfOutputs", strconv.Itoa(outputs), false)
	case "presets":
		if m.PTZ {
			defs = append(defs, paramDef{gen: what})
		}
	case "streamprofiles":
		defs = append(defs, paramDef{gen: what})
	default:
		panic("paramtree.txt: unknown @gen " + what)
	}
	return defs
}

// paramEnv fills the placeholders that depend on the camera and its state.
func (c *Camera) paramEnv(st *State) *strings.Replacer {
	ip := c.ipAddress()
	mask, bcast, router := "255.255.255.0", "0.0.0.0", "0.0.0.0"
	if a := net.ParseIP(ip).To4(); a != nil {
		// Loopback cameras sit on 127/8; anything else is taken to be a /24, as a
		// typical camera LAN is.
		m := net.CIDRMask(24, 32)
		if a[0] == 127 {
			m = net.CIDRMask(8, 32)
		}
		mask = net.IP(m).String()
		netw := a.Mask(m)
		b := make(net.IP, 4)
		for i := range b {
			b[i] = netw[i] | ^m[i]
		}
		bcast = b.String()
		r := slices.Clone(netw)
		r[3]++
		router = r.String()
	} else {
		ip = "0.0.0.0"
	}
	v := st.Firmware.Version
	httpPort := "80"
	c.netMu.Lock()
	if _, p, err := net.SplitHostPort(c.addr); err == nil {
		httpPort = p
	}
	c.netMu.Unlock()
	return strings.NewReplacer(
		"{{Serial}}", c.id.Serial,
		"{{MAC}}", c.id.MAC(),
		"{{HostName}}", c.id.HostName(),
		"{{IP}}", ip,
		"{{SubnetMask}}", mask,
		"{{Broadcast}}", bcast,
		"{{Router}}", router,
		"{{ZeroConfIP}}", zeroConfIP(c.id.Serial),
		"{{Version}}", v,
		"{{BuildDate}}", st.Firmware.BuildDate,
		"{{BuildNumber}}", v[strings.LastIndex(v, ".")+1:],
		"{{EmbeddedDevelopmentVersion}}", embeddedDevelopmentVersion(v),
		"{{RTSPPort}}", c.rtspPort(),
		"{{HTTPPort}}", httpPort,
		"{{BonjourName}}", c.defaultBonjourName(st),
		"{{UPnPEnabled}}", defaultUPnP(st),
	)
}

// zeroConfIP is the link-local address the camera would pick, stable per serial.
func zeroConfIP(serial string) string {
	b, err := strconv.ParseUint(serial[len(serial)-4:], 16, 16)
	if err != nil {
		return "169.254.1.1"
	}
	return fmt.Sprintf("169.254.%d.%d", 1+(b>>8)%254, 1+(b&0xff)%254)
}

// embeddedDevelopmentVersion is the ACAP embedded development version a firmware
// generation reports (Properties.EmbeddedDevelopment.Version). The sample's 9.x value is
// recorded; the later ones are plausible, not recordings.
func embeddedDevelopmentVersion(firmware string) string {
	major, _, _ := strings.Cut(firmware, ".")
	switch major {
	case "10":
		return "3.2"
	case "11":
		return "3.5"
	case "12":
		return "3.7"
	}
	return "2.16"
}

// presetDef marks the PTZ preset positions listed from the state: managed by ptz.cgi,
// read-only through param.cgi.
var presetDef = paramDef{name: "PTZ.Preset.P0.Position"}

// params resolves the whole tree for a state, in listing order.
func (c *Camera) params(st *State) []param {
	tree := treeFor(c.id.Model)
	env := c.paramEnv(st)
	var added []string
	for name := range st.Params {
		if !tree.known[name] {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	out := make([]param, 0, len(tree.defs)+len(added)+8)
	used := make([]bool, len(added))
	for i := range tree.defs {
		d := &tree.defs[i]
		switch d.gen {
		case "":
		case "presets":
			out = append(out, presetParams(st)...)
			continue
		case "streamprofiles":
			for j, name := range added {
				if strings.HasPrefix(name, "StreamProfile.") {
					out = append(out, param{name: name, value: st.Params[name]})
					used[j] = true
				}
			}
			continue
		}
		v := d.tmpl
		if d.dynamic {
			v = env.Replace(v)
		}
		if d.writable {
			if set, ok := st.Params[d.name]; ok {
				v = set
			}
		}
		out = append(out, param{name: d.name, value: v, def: d})
	}
	for j, name := range added {
		if !used[j] {
			out = append(out, param{name: name, value: st.Params[name]})
		}
	}
	return out
}

func presetParams(st *State) []param {
	names := make([]string, 0, len(st.PTZ.Presets))
	for name := range st.PTZ.Presets {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return st.PTZ.Presets[names[i]].Number < st.PTZ.Presets[names[j]].Number })
	var out []param
	for _, name := range names {
		p := st.PTZ.Presets[name]
		g := fmt.Sprintf("PTZ.Preset.P0.Position.P%d.", p.Number)
		out = append(out,
			param{name: g + "Data", value: fmt.Sprintf("pan=%f:tilt=%f:zoom=%f", p.Pan, p.Tilt, p.Zoom), def: &presetDef},
			param{name: g + "Name", value: name, def: &presetDef})
	}
	return out
}

// defaultParams are the instances of add-able groups a camera has out of the box; they
// live in the state so that they can be changed and removed like any added instance.
func defaultParams() map[string]string {
	return map[string]string{
		"StreamProfile.S0.Description": "",
		"StreamProfile.S0.Name":        "profile_1",
		"StreamProfile.S0.Parameters":  "videocodec=h264",
	}
}
