package camsim

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// time.cgi (time-service 1.1, vapix.md section 14) and ntp.cgi (ntp). Both read and write
// the Time.* parameters, so param.cgi, time.cgi and ntp.cgi always agree: the POSIX zone
// (Time.POSIXTimeZone), whether DST applies (Time.DST.Enabled), the IANA name
// (Time.TimeZone), the sync source (Time.SyncSource) and the NTP server (Time.NTP.Server).

// Time API errors [V rec 12.11]: 4000 unknown method, 4001 unsupported version. A bad
// body or parameter is answered with 4002 [U: the code is not in any source; a simulator
// choice].
var apiTime = jsonAPI{version: "1.1", badJSON: 4002, badMethod: 4000, badVersion: 4001, badParams: 4002,
	badJSONText: "Invalid parameter", badMethodText: "Method does not exist"}

// The NTP API's error codes are not documented in any source we have; camsim answers
// with the basicdeviceinfo family's codes [U].
var apiNTP = jsonAPI{version: "1.5", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 4002,
	badJSONText: "Invalid JSON", badMethodText: "Method not supported"}

// timeZones are the IANA zones setTimeZone accepts, with the POSIX rule each stands for
// (from the zones' tzdata footers).
var timeZones = map[string]string{
	"UTC":                 "UTC0",
	"Europe/Stockholm":    "CET-1CEST,M3.5.0,M10.5.0/3",
	"Europe/Berlin":       "CET-1CEST,M3.5.0,M10.5.0/3",
	"Europe/Paris":        "CET-1CEST,M3.5.0,M10.5.0/3",
	"Europe/London":       "GMT0BST,M3.5.0/1,M10.5.0",
	"Europe/Helsinki":     "EET-2EEST,M3.5.0/3,M10.5.0/4",
	"America/New_York":    "EST5EDT,M3.2.0,M11.1.0",
	"America/Chicago":     "CST6CDT,M3.2.0,M11.1.0",
	"America/Denver":      "MST7MDT,M3.2.0,M11.1.0",
	"America/Los_Angeles": "PST8PDT,M3.2.0,M11.1.0",
	"Asia/Tokyo":          "JST-9",
	"Asia/Shanghai":       "CST-8",
	"Asia/Kolkata":        "IST-5:30",
	"Australia/Sydney":    "AEST-10AEDT,M10.1.0,M4.1.0/3",
}

// maxYearSupported as AXIS OS 12.11 reports it [V rec 12.11].
const maxYearSupported = 2069

// cameraNow is the camera's clock: the host's, moved by setDateTime.
func (c *Camera) cameraNow() time.Time {
	return c.now().Add(time.Duration(c.clockOffset.Load()))
}

type dateTimeInfo struct {
	DateTime         string   `json:"dateTime"`
	LocalDateTime    string   `json:"localDateTime"`
	MaxYearSupported int      `json:"maxYearSupported"`
	PosixTimeZone    string   `json:"posixTimeZone"`
	DSTEnabled       bool     `json:"dstEnabled"`
	TimeZone         string   `json:"timeZone,omitempty"`
	TimeZones        []string `json:"timeZones,omitempty"`
}

func (c *Camera) dateTimeInfo(all bool) dateTimeInfo {
	var posix, dst, zone string
	c.view(func(st *State) {
		posix = c.paramValue(st, "Time.POSIXTimeZone")
		dst = c.paramValue(st, "Time.DST.Enabled")
		zone = c.paramValue(st, "Time.TimeZone")
	})
	now := c.cameraNow().Truncate(time.Second)
	info := dateTimeInfo{
		DateTime:         now.UTC().Format("2006-01-02T15:04:05Z"),
		MaxYearSupported: maxYearSupported,
		PosixTimeZone:    posix,
		DSTEnabled:       dst == "yes",
	}
	local := now.UTC()
	if z, err := parsePosixTZ(posix); err == nil {
		local = z.local(now, info.DSTEnabled)
	}
	info.LocalDateTime = local.Format(time.RFC3339)
	if all {
		info.TimeZone = zone
		for name := range timeZones {
			info.TimeZones = append(info.TimeZones, name)
		}
		sort.Strings(info.TimeZones)
	}
	return info
}

func (c *Camera) handleTime(q *request) {
	api := apiTime
	set := func(req jsonRequest, fn func(st *State) error) {
		if !q.require(Admin, true) {
			return
		}
		if err := c.update(fn); err != nil {
			q.jsonError(api, req, api.badParams, "Invalid parameter")
			return
		}
		q.jsonData(api, req, struct{}{})
	}
	q.serveJSON(api, map[string]func(jsonRequest){
		"getDateTimeInfo": func(req jsonRequest) {
			q.jsonData(api, req, c.dateTimeInfo(false))
		},
		"getAllDateTimeInfo": func(req jsonRequest) {
			q.jsonData(api, req, c.dateTimeInfo(true))
		},
		"setDateTime": func(req jsonRequest) {
			var p struct {
				DateTime string `json:"dateTime"`
			}
			if !q.params(api, req, &p) {
				return
			}
			t, err := time.Parse(time.RFC3339, p.DateTime)
			if err != nil || t.Year() > maxYearSupported || t.Year() < 1970 {
				q.jsonError(api, req, api.badParams, "Invalid parameter")
				return
			}
			if !q.require(Admin, true) {
				return
			}
			c.clockOffset.Store(int64(t.Sub(c.now())))
			q.jsonData(api, req, struct{}{})
		},
		"setTimeZone": func(req jsonRequest) {
			var p struct {
				TimeZone string `json:"timeZone"`
			}
			if !q.params(api, req, &p) {
				return
			}
			set(req, func(st *State) error {
				posix, ok := timeZones[p.TimeZone]
				if !ok {
					return errParamRejected
				}
				z, _ := parsePosixTZ(posix)
				return errors.Join(
					c.setParam(st, "Time.TimeZone", p.TimeZone),
					c.setParam(st, "Time.POSIXTimeZone", posix),
					c.setParam(st, "Time.DST.Enabled", yesNoOf(z.hasDST)))
			})
		},
		"setPosixTimeZone": func(req jsonRequest) {
			var p struct {
				PosixTimeZone string `json:"posixTimeZone"`
				EnableDST     *bool  `json:"enableDst"`
			}
			if !q.params(api, req, &p) {
				return
			}
			set(req, func(st *State) error {
				z, err := parsePosixTZ(p.PosixTimeZone)
				if err != nil {
					return err
				}
				dst := z.hasDST
				if p.EnableDST != nil {
					dst = *p.EnableDST && z.hasDST
				}
				// A POSIX rule set directly names no IANA zone.
				return errors.Join(
					c.setParam(st, "Time.TimeZone", ""),
					c.setParam(st, "Time.POSIXTimeZone", p.PosixTimeZone),
					c.setParam(st, "Time.DST.Enabled", yesNoOf(dst)))
			})
		},
		"resetTimeZone": func(req jsonRequest) {
			set(req, func(st *State) error {
				for _, k := range []string{"Time.TimeZone", "Time.POSIXTimeZone", "Time.DST.Enabled"} {
					delete(st.Params, k)
				}
				return nil
			})
		},
	})
}

// ntpInfo is getNTPInfo's client section [U: field names from the NTP API page's
// description and two client libraries, not from a recording].
type ntpClient struct {
	Enabled           bool     `json:"enabled"`
	NTSEnabled        bool     `json:"NTSEnabled"`
	ServersSource     string   `json:"serversSource"`
	StaticServers     []string `json:"staticServers"`
	AdvertisedServers []string `json:"advertisedServers"`
	Synced            bool     `json:"synced"`
	TimeOffset        int      `json:"timeOffset"`
	TimeToNextSync    int      `json:"timeToNextSync"`
}

func (c *Camera) ntpClient() ntpClient {
	var source, server, fromDHCP string
	c.view(func(st *State) {
		source = c.paramValue(st, "Time.SyncSource")
		server = c.paramValue(st, "Time.NTP.Server")
		fromDHCP = c.paramValue(st, "Time.ObtainFromDHCP")
	})
	n := ntpClient{
		Enabled:           source == "NTP",
		ServersSource:     "static",
		StaticServers:     []string{},
		AdvertisedServers: []string{},
		TimeToNextSync:    1024,
	}
	if fromDHCP == "yes" {
		n.ServersSource = "DHCP"
	}
	if server != "" && server != "0.0.0.0" {
		n.StaticServers = strings.Split(server, ",")
	}
	// A simulated camera's clock is the host's, which is taken to be synchronised.
	n.Synced = n.Enabled
	return n
}

func (c *Camera) handleNTP(q *request) {
	api := apiNTP
	q.serveJSON(api, map[string]func(jsonRequest){
		"getNTPInfo": func(req jsonRequest) {
			q.jsonData(api, req, map[string]any{"client": c.ntpClient()})
		},
		"setNTPClientConfiguration": func(req jsonRequest) {
			var p struct {
				Enabled       *bool     `json:"enabled"`
				ServersSource *string   `json:"serversSource"`
				StaticServers *[]string `json:"staticServers"`
			}
			if !q.params(api, req, &p) || !q.require(Admin, true) {
				return
			}
			err := c.update(func(st *State) error {
				var errs []error
				if p.Enabled != nil {
					src := "none"
					if *p.Enabled {
						src = "NTP"
					}
					errs = append(errs, c.setParam(st, "Time.SyncSource", src))
				}
				if p.ServersSource != nil {
					switch *p.ServersSource {
					case "DHCP":
						errs = append(errs, c.setParam(st, "Time.ObtainFromDHCP", "yes"))
					case "static":
						errs = append(errs, c.setParam(st, "Time.ObtainFromDHCP", "no"))
					default:
						errs = append(errs, errParamRejected)
					}
				}
				if p.StaticServers != nil {
					for _, s := range *p.StaticServers {
						if s == "" || strings.ContainsAny(s, ", \t\r\n") || len(s) > 253 {
							errs = append(errs, errParamRejected)
						}
					}
					v := strings.Join(*p.StaticServers, ",")
					if v == "" {
						v = "0.0.0.0"
					}
					errs = append(errs, c.setParam(st, "Time.NTP.Server", v))
				}
				return errors.Join(errs...)
			})
			if err != nil {
				q.jsonError(api, req, api.badParams, "Invalid parameter")
				return
			}
			q.jsonData(api, req, struct{}{})
		},
	})
}
