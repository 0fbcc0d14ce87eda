package camsim

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// com/ptz.cgi (vapix.md section 11). Queries answer text/plain key=value lines; controls
// answer 204 No Content; errors are "Error: ..." text. A camera without PTZ answers
// queries with an empty body (as clients expect) and controls with an error.

// Continuous moves: full speed (100) pans/tilts 60°/s and zooms 2000 units/s, scaled by
// the speed setting.
const (
	ptzDegreesPerSecond = 60.0
	ptzZoomPerSecond    = 2000.0
	ptzStep             = 5.0 // degrees of move=up/down/left/right
)

// ptzMotion is a continuous move; the position is computed from elapsed time when read,
// so no goroutine ticks.
type ptzMotion struct {
	pan, tilt, zoom float64 // -1..1 of full speed
	since           time.Time
}

func (m ptzMotion) moving() bool { return m.pan != 0 || m.tilt != 0 || m.zoom != 0 }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// ptzPosition is where the camera points now, with any continuous move applied. Called
// with c.mu held.
func (c *Camera) ptzPositionLocked() PTZState {
	p := c.st.PTZ
	m := c.ptzMotion
	if m.moving() {
		dt := c.now().Sub(m.since).Seconds()
		scale := float64(ptzSpeed(p)) / 100
		p.Pan = clamp(p.Pan+m.pan*ptzDegreesPerSecond*scale*dt, ptzMinPan, ptzMaxPan)
		p.Tilt = clamp(p.Tilt+m.tilt*ptzDegreesPerSecond*scale*dt, ptzMinTilt, ptzMaxTilt)
		p.Zoom = clamp(p.Zoom+m.zoom*ptzZoomPerSecond*scale*dt, ptzMinZoom, ptzMaxZoom)
	}
	return p
}

func ptzSpeed(p PTZState) int {
	if p.Speed == 0 {
		return 100
	}
	return p.Speed
}

func fmtPTZ(v float64) string { return strconv.FormatFloat(math.Round(v*10000)/10000, 'f', -1, 64) }

func (c *Camera) handlePTZ(q *request) {
	if !q.requirePTZ() {
		return
	}
	args := q.args()
	if cam := args.Get("camera"); cam != "" && cam != "1" {
		q.text(http.StatusOK, "Error: camera "+cam+" does not exist\n")
		return
	}
	if query := args.Get("query"); query != "" || args.Get("info") != "" || args.Get("whoami") != "" {
		if !c.id.Model.PTZ {
			q.text(http.StatusOK, "")
			return
		}
		c.ptzQuery(q, query, args.Get("info") != "", args.Get("whoami") != "")
		return
	}
	if !c.id.Model.PTZ {
		q.text(http.StatusOK, "Error: PTZ is not supported by this device\n")
		return
	}
	if msg := c.ptzControl(args); msg != "" {
		q.text(http.StatusOK, "Error: "+msg+"\n")
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (c *Camera) ptzQuery(q *request, query string, info, whoami bool) {
	var b strings.Builder
	switch {
	case whoami:
		b.WriteString("camsim_ptz\n")
	case info:
		b.WriteString("Available commands: pan tilt zoom focus iris brightness rpan rtilt rzoom move continuouspantiltmove continuouszoommove speed setserverpresetname setserverpresetno removeserverpresetname removeserverpresetno gotoserverpresetname gotoserverpresetno query\n")
	case query == "position":
		c.mu.Lock()
		p := c.ptzPositionLocked()
		c.mu.Unlock()
		fmt.Fprintf(&b, "pan=%s\ntilt=%s\nzoom=%s\niris=%s\nfocus=%s\nbrightness=%s\nautofocus=on\nautoiris=on\n",
			fmtPTZ(p.Pan), fmtPTZ(p.Tilt), fmtPTZ(p.Zoom), fmtPTZ(orDefault(p.Iris, 5000)), fmtPTZ(orDefault(p.Focus, 5000)), fmtPTZ(orDefault(p.Brightness, 4999)))
	case query == "limits":
		fmt.Fprintf(&b, "MinPan=%s\nMaxPan=%s\nMinTilt=%s\nMaxTilt=%s\nMinZoom=%s\nMaxZoom=%s\nMinFocus=%s\nMaxFocus=%s\nMinIris=%s\nMaxIris=%s\nMinBrightness=%s\nMaxBrightness=%s\n",
			fmtPTZ(ptzMinPan), fmtPTZ(ptzMaxPan), fmtPTZ(ptzMinTilt), fmtPTZ(ptzMaxTilt), fmtPTZ(ptzMinZoom), fmtPTZ(ptzMaxZoom),
			fmtPTZ(ptzMinFocus), fmtPTZ(ptzMaxFocus), fmtPTZ(ptzMinIris), fmtPTZ(ptzMaxIris), fmtPTZ(ptzMinBrightness), fmtPTZ(ptzMaxBrightness))
	case query == "speed":
		c.mu.Lock()
		fmt.Fprintf(&b, "speed=%d\n", ptzSpeed(c.st.PTZ))
		c.mu.Unlock()
	case query == "mode":
		b.WriteString("mode=normal\n")
	case query == "presetposcam" || query == "presetposall":
		c.mu.Lock()
		presets := c.st.PTZ.Presets
		type np struct {
			n    int
			name string
		}
		var list []np
		for name, p := range presets {
			list = append(list, np{p.Number, name})
		}
		c.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].n < list[j].n })
		if query == "presetposcam" {
			b.WriteString("Preset Positions for camera 1\n")
		} else {
			b.WriteString("Preset Positions for all cameras\n")
		}
		for _, p := range list {
			fmt.Fprintf(&b, "presetposno%d=%s\n", p.n, p.name)
		}
	default:
		q.text(http.StatusOK, "Error: unsupported query '"+query+"'\n")
		return
	}
	q.text(http.StatusOK, b.String())
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// ptzControl applies the control arguments in one state change; a bad argument changes
// nothing and returns the error text.
func (c *Camera) ptzControl(args map[string][]string) string {
	get := func(k string) (string, bool) {
		v, ok := args[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	}
	num := func(k string) (float64, bool, string) {
		s, ok := get(k)
		if !ok {
			return 0, false, ""
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false, "invalid value for " + k
		}
		return f, true, ""
	}
	known := map[string]bool{"camera": true, "pan": true, "tilt": true, "zoom": true, "focus": true, "iris": true,
		"brightness": true, "rpan": true, "rtilt": true, "rzoom": true, "move": true, "continuouspantiltmove": true,
		"continuouszoommove": true, "speed": true, "setserverpresetname": true, "setserverpresetno": true,
		"removeserverpresetname": true, "removeserverpresetno": true, "gotoserverpresetname": true,
		"gotoserverpresetno": true, "autofocus": true, "autoiris": true, "imagewidth": true, "imageheight": true}
	for k := range args {
		if !known[k] {
			return "unsupported argument " + k
		}
	}
	var msg string
	_ = c.update(func(st *State) error {
		// Materialise any continuous move first: every control starts from where the
		// camera points now.
		presetsBefore := st.PTZ.Presets
		st.PTZ = c.ptzPositionLocked()
		st.PTZ.Presets = presetsBefore
		if st.PTZ.Presets == nil {
			st.PTZ.Presets = map[string]PTZPreset{}
		} else {
			presets := make(map[string]PTZPreset, len(st.PTZ.Presets))
			for k, v := range st.PTZ.Presets {
				presets[k] = v
			}
			st.PTZ.Presets = presets
		}
		motion := c.ptzMotion
		motion.since = c.now()
		p := &st.PTZ
		fail := func(m string) error { msg = m; return errParamRejected }

		for _, a := range []struct {
			key    string
			dst    *float64
			lo, hi float64
			rel    bool
		}{
			{"pan", &p.Pan, ptzMinPan, ptzMaxPan, false}, {"tilt", &p.Tilt, ptzMinTilt, ptzMaxTilt, false},
			{"zoom", &p.Zoom, ptzMinZoom, ptzMaxZoom, false}, {"focus", &p.Focus, ptzMinFocus, ptzMaxFocus, false},
			{"iris", &p.Iris, ptzMinIris, ptzMaxIris, false}, {"brightness", &p.Brightness, ptzMinBrightness, ptzMaxBrightness, false},
			{"rpan", &p.Pan, ptzMinPan, ptzMaxPan, true}, {"rtilt", &p.Tilt, ptzMinTilt, ptzMaxTilt, true},
			{"rzoom", &p.Zoom, ptzMinZoom, ptzMaxZoom, true},
		} {
			v, ok, bad := num(a.key)
			if bad != "" {
				return fail(bad)
			}
			if ok {
				if a.rel {
					v += *a.dst
				}
				*a.dst = clamp(v, a.lo, a.hi)
			}
		}
		if s, ok := get("speed"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				return fail("invalid value for speed")
			}
			p.Speed = n
		}
		if s, ok := get("continuouspantiltmove"); ok {
			xs, ys, found := strings.Cut(s, ",")
			x, err1 := strconv.ParseFloat(xs, 64)
			y, err2 := strconv.ParseFloat(ys, 64)
			if !found || err1 != nil || err2 != nil || math.Abs(x) > 100 || math.Abs(y) > 100 {
				return fail("invalid value for continuouspantiltmove")
			}
			motion.pan, motion.tilt = x/100, y/100
		}
		if s, ok := get("continuouszoommove"); ok {
			z, err := strconv.ParseFloat(s, 64)
			if err != nil || math.Abs(z) > 100 {
				return fail("invalid value for continuouszoommove")
			}
			motion.zoom = z / 100
		}
		if s, ok := get("move"); ok {
			step := map[string][2]float64{"up": {0, 1}, "down": {0, -1}, "left": {-1, 0}, "right": {1, 0},
				"upleft": {-1, 1}, "upright": {1, 1}, "downleft": {-1, -1}, "downright": {1, -1}}
			switch d, isStep := step[s]; {
			case s == "stop":
				motion = ptzMotion{}
			case s == "home":
				if home, ok := p.Presets["Home"]; ok {
					p.Pan, p.Tilt, p.Zoom = home.Pan, home.Tilt, home.Zoom
				} else {
					p.Pan, p.Tilt, p.Zoom = 0, 0, 1
				}
			case isStep:
				p.Pan = clamp(p.Pan+d[0]*ptzStep, ptzMinPan, ptzMaxPan)
				p.Tilt = clamp(p.Tilt+d[1]*ptzStep, ptzMinTilt, ptzMaxTilt)
			default:
				return fail("invalid value for move")
			}
		}
		nextNumber := func() int {
			n := 1
			for _, pr := range p.Presets {
				n = max(n, pr.Number+1)
			}
			return n
		}
		if name, ok := get("setserverpresetname"); ok {
			if name == "" || len(name) > 31 {
				return fail("invalid preset name")
			}
			n := nextNumber()
			if old, ok := p.Presets[name]; ok {
				n = old.Number
			}
			p.Presets[name] = PTZPreset{Number: n, Pan: p.Pan, Tilt: p.Tilt, Zoom: p.Zoom}
		}
		if s, ok := get("setserverpresetno"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				return fail("invalid preset number")
			}
			for name, pr := range p.Presets {
				if pr.Number == n {
					delete(p.Presets, name)
				}
			}
			p.Presets["Preset"+s] = PTZPreset{Number: n, Pan: p.Pan, Tilt: p.Tilt, Zoom: p.Zoom}
		}
		findNo := func(s string) (string, bool) {
			n, err := strconv.Atoi(s)
			if err != nil {
				return "", false
			}
			for name, pr := range p.Presets {
				if pr.Number == n {
					return name, true
				}
			}
			return "", false
		}
		for _, k := range []string{"removeserverpresetname", "removeserverpresetno"} {
			if s, ok := get(k); ok {
				name := s
				if k == "removeserverpresetno" {
					name, ok = findNo(s)
				} else {
					_, ok = p.Presets[s]
				}
				if !ok {
					return fail("no such preset " + s)
				}
				delete(p.Presets, name)
			}
		}
		for _, k := range []string{"gotoserverpresetname", "gotoserverpresetno"} {
			if s, ok := get(k); ok {
				name := s
				if k == "gotoserverpresetno" {
					name, ok = findNo(s)
				} else {
					_, ok = p.Presets[s]
				}
				if !ok {
					return fail("no such preset " + s)
				}
				pr := p.Presets[name]
				p.Pan, p.Tilt, p.Zoom = pr.Pan, pr.Tilt, pr.Zoom
				motion = ptzMotion{}
			}
		}
		c.ptzMotion = motion
		return nil
	})
	return msg
}
