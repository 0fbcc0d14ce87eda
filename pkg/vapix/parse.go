package vapix

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// jsonReply is the envelope of every JSON API reply; "method" and "context" may be
// missing (basicdeviceinfo leaves out "method").
type jsonReply struct {
	APIVersion string          `json:"apiVersion"`
	Method     string          `json:"method"`
	Data       json.RawMessage `json:"data"`
	Error      *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// decodeJSONReply reads a JSON API reply: its error object as *Error, else data into out.
func decodeJSONReply(cgi string, b []byte, out any) error {
	var r jsonReply
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, cgi, err)
	}
	if r.Error != nil {
		return &Error{API: cgi, Code: r.Error.Code, Message: r.Error.Message}
	}
	if out == nil {
		return nil
	}
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return fmt.Errorf("%w: %s: reply has neither data nor error", ErrMalformed, cgi)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("%w: %s: data: %v", ErrMalformed, cgi, err)
	}
	return nil
}

// legacyError recognises the error replies of legacy CGIs: "Error: <n>" or
// "Error: <text>" (applications, pwdgrp, ptz) and "# Error: <text>" (param.cgi).
func legacyError(cgiPath, text string) error {
	line := strings.TrimSpace(text)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	msg, ok := strings.CutPrefix(line, "# Error:")
	if !ok {
		msg, ok = strings.CutPrefix(line, "Error:")
	}
	if !ok {
		return nil
	}
	msg = strings.TrimSpace(msg)
	e := &Error{API: path.Base(cgiPath), Message: msg}
	if n, err := strconv.Atoi(msg); err == nil {
		e.Code = n
		e.Message = appErrorText[n]
		if e.Message == "" {
			e.Message = "error " + msg
		}
	}
	return e
}

// appErrorText names the codes of applications/*.cgi (vapix.md 8.2, 8.3).
var appErrorText = map[int]string{
	1: "invalid package or internal error", 2: "verification failed", 3: "package too large",
	4: "application not found", 5: "package not compatible with this device", 6: "application already running",
	7: "application not running", 8: "application could not start", 9: "too many applications running",
	10: "unspecified error",
}

// Param is one parameter as param.cgi lists it, with the name in the form requested.
type Param struct {
	Name, Value string
}

// ParamGroupError is an "# Error:" line that param.cgi printed in place of a group.
type ParamGroupError struct {
	Group   string
	Message string
}

// ParseParams reads an action=list reply: Name=value lines, values raw; "# Error:" lines
// name groups the device does not have. Blank lines and CRLF endings are accepted. Values
// are printed raw, newlines included, so a line that is not Name=value continues the
// value before it (with the blank lines between them).
func ParseParams(text string) ([]Param, []ParamGroupError, error) {
	var params []Param
	var errs []ParamGroupError
	blanks := 0      // blank lines since the last one, part of a value if one continues it
	inValue := false // the line before was a value, which the next may continue
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			blanks++
			continue
		}
		prevBlanks := blanks
		blanks = 0
		if msg, ok := strings.CutPrefix(line, "# Error:"); ok {
			msg = strings.TrimSpace(msg)
			g := ""
			if i := strings.Index(msg, "'"); i >= 0 {
				if j := strings.LastIndex(msg, "'"); j > i {
					g = msg[i+1 : j]
				}
			}
			errs = append(errs, ParamGroupError{Group: g, Message: msg})
			inValue = false
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			if !inValue {
				return nil, nil, fmt.Errorf("%w: param.cgi line %q", ErrMalformed, line)
			}
			last := &params[len(params)-1]
			last.Value += strings.Repeat("\n", prevBlanks+1) + line
			continue
		}
		params = append(params, Param{Name: name, Value: value})
		inValue = true
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: param.cgi: %v", ErrMalformed, err)
	}
	return params, errs, nil
}

// ParseUsers reads pwdgrp.cgi action=get: group="user1,user2" lines (any groups, LF or
// CRLF), into group -> users. The quotes are optional: AXIS OS 10.12 prints a group
// without members as users= among its quoted lines (vapix.md 10), and one such line must
// not cost the whole listing.
func ParseUsers(text string) (map[string][]string, error) {
	groups := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, list, ok := strings.Cut(line, "=")
		quoted := strings.HasPrefix(list, `"`) || strings.HasSuffix(list, `"`)
		if !ok || name == "" || quoted && (len(list) < 2 || list[0] != '"' || list[len(list)-1] != '"') {
			return nil, fmt.Errorf("%w: pwdgrp.cgi line %q", ErrMalformed, line)
		}
		if quoted {
			list = list[1 : len(list)-1]
		}
		users := []string{}
		for _, u := range strings.Split(list, ",") {
			if u = strings.TrimSpace(u); u != "" {
				users = append(users, u)
			}
		}
		groups[name] = users
	}
	return groups, nil
}

// App is an installed ACAP application as list.cgi describes it.
type App struct {
	Name                  string `xml:"Name,attr"`
	NiceName              string `xml:"NiceName,attr"`
	Vendor                string `xml:"Vendor,attr"`
	Version               string `xml:"Version,attr"`
	ApplicationID         string `xml:"ApplicationID,attr"`
	License               string `xml:"License,attr"`
	LicenseExpirationDate string `xml:"LicenseExpirationDate,attr"`
	LicenseName           string `xml:"LicenseName,attr"`
	Status                string `xml:"Status,attr"` // Running, Stopped, Idle
	ConfigurationPage     string `xml:"ConfigurationPage,attr"`
	VendorHomePage        string `xml:"VendorHomePage,attr"`
	ValidationResult      string `xml:"ValidationResult,attr"`
	Bundled               string `xml:"Bundled,attr"`
	SignatureStatus       string `xml:"SignatureStatus,attr"`
	Resources             []struct {
		Name string `xml:"name,attr"`
		Used string `xml:"used,attr"`
	} `xml:"Resources>Resource"`
	CompatibleOSVersions []struct {
		Min string `xml:"Min"`
		Max string `xml:"Max"`
	} `xml:"CompatibleOsVersions>VersionRange"`
}

// IsBundled reports whether the application comes with AXIS OS (Bundled="Yes", 12.x).
func (a App) IsBundled() bool { return strings.EqualFold(a.Bundled, "Yes") }

// ParseAppList reads list.cgi's XML.
func ParseAppList(b []byte) ([]App, error) {
	var r struct {
		XMLName xml.Name `xml:"reply"`
		Result  string   `xml:"result,attr"`
		Apps    []App    `xml:"application"`
		Error   *struct {
			Code string `xml:"code,attr"`
		} `xml:"error"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: list.cgi: %v", ErrMalformed, err)
	}
	if r.Result != "ok" {
		return nil, &Error{API: "list.cgi", Message: "result " + strconv.Quote(r.Result)}
	}
	for _, a := range r.Apps {
		if a.Name == "" {
			return nil, fmt.Errorf("%w: list.cgi: application without Name", ErrMalformed)
		}
	}
	return r.Apps, nil
}

// ParseKeyValues reads key=value text lines (ptz.cgi queries, systemready-like replies)
// in order; lines without "=" are skipped (e.g. "Preset Positions for camera 1").
func ParseKeyValues(text string) ([][2]string, error) {
	var out [][2]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if k == "" {
			return nil, fmt.Errorf("%w: line %q", ErrMalformed, line)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// PTZPosition is where a PTZ camera points.
type PTZPosition struct {
	Pan, Tilt, Zoom         float64
	Focus, Iris, Brightness float64 // 0 when the device does not report them
}

// ParsePTZPosition reads ptz.cgi?query=position. An empty reply means the device has no
// PTZ: ErrNotFound.
func ParsePTZPosition(text string) (PTZPosition, error) {
	kv, err := ParseKeyValues(text)
	if err != nil {
		return PTZPosition{}, err
	}
	if len(kv) == 0 {
		return PTZPosition{}, fmt.Errorf("%w: device has no PTZ", ErrNotFound)
	}
	var p PTZPosition
	dst := map[string]*float64{"pan": &p.Pan, "tilt": &p.Tilt, "zoom": &p.Zoom, "focus": &p.Focus, "iris": &p.Iris, "brightness": &p.Brightness}
	seen := 0
	for _, e := range kv {
		if d, ok := dst[e[0]]; ok {
			v, err := strconv.ParseFloat(e[1], 64)
			if err != nil {
				return PTZPosition{}, fmt.Errorf("%w: ptz %s=%q", ErrMalformed, e[0], e[1])
			}
			*d = v
			seen++
		}
	}
	if seen == 0 {
		return PTZPosition{}, fmt.Errorf("%w: ptz position without pan, tilt or zoom", ErrMalformed)
	}
	return p, nil
}

// Event is one notification from the device's event stream.
type Event struct {
	Topic     string
	Timestamp int64 // epoch milliseconds, as sent
	Source    map[string]string
	Key       map[string]string
	Data      map[string]string
}

// ParseEventMessage reads one WebSocket message of the event stream. It returns the
// event of an events:notify message, ok=false for other messages (configure replies),
// and *Error for an error object.
func ParseEventMessage(b []byte) (ev Event, ok bool, err error) {
	var m struct {
		Method string `json:"method"`
		Params *struct {
			Notification *struct {
				Topic     string `json:"topic"`
				Timestamp int64  `json:"timestamp"`
				Message   struct {
					Source map[string]string `json:"source"`
					Key    map[string]string `json:"key"`
					Data   map[string]string `json:"data"`
				} `json:"message"`
			} `json:"notification"`
		} `json:"params"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Event{}, false, fmt.Errorf("%w: event message: %v", ErrMalformed, err)
	}
	if m.Error != nil {
		return Event{}, false, &Error{API: "ws-data-stream", Code: m.Error.Code, Message: m.Error.Message}
	}
	if m.Method != "events:notify" {
		return Event{}, false, nil
	}
	if m.Params == nil || m.Params.Notification == nil || m.Params.Notification.Topic == "" {
		return Event{}, false, fmt.Errorf("%w: events:notify without notification", ErrMalformed)
	}
	n := m.Params.Notification
	return Event{Topic: n.Topic, Timestamp: n.Timestamp, Source: n.Message.Source, Key: n.Message.Key, Data: n.Message.Data}, true, nil
}
