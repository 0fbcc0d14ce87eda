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
	tmpl     string // value, with {{placeholders}} when dynamic
	dynamic  bool
	writable bool
	secret   bool     // listed as ******
	choices  []string // allowed values of a writable param (nil: anything)
	gen      string   // a place where parameters from the state are listed (see paramtree.go)
}

var yesNo = []string{"yes", "no"}

func yesNoOf(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// paramAddTemplates are the groups action=add can create instances of, with the params
// each new instance has and the param holding the most instances there may be.
var paramAddTemplates = map[string]struct {
	group     string
	params    []string
	maxGroups string
}{
	"streamprofile": {group: "StreamProfile", params: []string{"Description", "Name", "Parameters"}, maxGroups: "StreamProfile.MaxGroups"},
}

// param is one listed value.
type param struct {
	name, value string
	def         *paramDef // nil for an added instance (always writable)
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
	values := map[string]string{}
	for _, name := range tmpl.params {
		values[name] = get(group + ".S." + name)
	}
	instance, err := c.addInstance(group, tmpl.maxGroups, values)
	if err != nil {
		q.text(http.StatusOK, fmt.Sprintf("# Error: Error adding group '%s' with template '%s'\n", get("group"), get("template")))
		return
	}
	q.text(http.StatusOK, instance+" OK\n")
}

var errGroupsFull = fmt.Errorf("no free instance")

// addInstance creates the next free instance S<n> of group with the given params; it
// fails when the group already holds as many instances as maxGroups allows.
func (c *Camera) addInstance(group, maxGroups string, values map[string]string) (string, error) {
	var instance string
	err := c.update(func(st *State) error {
		used := map[string]bool{}
		limit := 0
		for _, p := range c.params(st) {
			if p.name == maxGroups {
				limit, _ = strconv.Atoi(p.value)
			}
			if rest, ok := strings.CutPrefix(p.name, group+"."); ok {
				inst, _, _ := strings.Cut(rest, ".")
				if strings.HasPrefix(inst, "S") {
					used[inst] = true
				}
			}
		}
		if limit > 0 && len(used) >= limit {
			return errGroupsFull
		}
		n := 0
		for used["S"+strconv.Itoa(n)] {
			n++
		}
		instance = "S" + strconv.Itoa(n)
		for name, v := range values {
			st.Params[group+"."+instance+"."+name] = v
		}
		return nil
	})
	return instance, err
}

// paramRemove removes an added instance; the device's own groups cannot be removed.
func (c *Camera) paramRemove(q *request, group string) {
	name := strings.TrimPrefix(group, "root.")
	if q.user.Level() < paramPrivilege(name, true) {
		q.challenge()
		return
	}
	removed := false
	known := treeFor(c.id.Model).known
	_ = c.update(func(st *State) error {
		for k := range st.Params {
			if strings.HasPrefix(k, name+".") && known[k] {
				// A group of the device's own (changed values of it are in the
				// state too): it cannot be removed.
				return errParamRejected
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
