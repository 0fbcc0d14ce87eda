package camsim

import (
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// streamprofile.cgi (API discovery id stream-profiles 1.0): list, create, update and
// remove named sets of stream arguments. A real camera keeps them in the parameter group
// StreamProfile.S<n> (Name, Description, Parameters), so camsim keeps them there too:
// param.cgi and streamprofile.cgi see the same profiles, and they are saved with the rest
// of the state. Error codes as Kane610/axis lists them for this API: 1000 invalid
// parameter value, 2000 major version not supported, 2001 request not following the
// schema, 2005 method not supported, 2006 profile does not exist.

var apiStreamProfile = jsonAPI{version: "1.0", badJSON: 2001, badMethod: 2005, badVersion: 2000, badParams: 1000,
	badJSONText: "The request was not formatted correctly", badMethodText: "The method in the request is not supported"}

const errNoSuchProfile = 2006

// StreamProfile is a stream profile of a camera: a name and the stream arguments it
// stands for, in query-string form (e.g. "resolution=1280x720&fps=15&videocodec=h264").
type StreamProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  string `json:"parameters"`
}

// Values parses the profile's parameters as RTSP and HTTP stream requests take them.
func (p StreamProfile) Values() (url.Values, error) {
	return url.ParseQuery(p.Parameters)
}

// StreamProfile returns the camera's stream profile of that name (names are compared
// exactly, as the camera does), as created through streamprofile.cgi or param.cgi.
func (c *Camera) StreamProfile(name string) (StreamProfile, bool) {
	var out StreamProfile
	var ok bool
	c.view(func(st *State) {
		for _, p := range streamProfiles(st) {
			if p.Name == name {
				out, ok = p.StreamProfile, true
				return
			}
		}
	})
	return out, ok
}

// StreamProfiles returns every stream profile of the camera in instance order.
func (c *Camera) StreamProfiles() []StreamProfile {
	var out []StreamProfile
	c.view(func(st *State) {
		for _, p := range streamProfiles(st) {
			out = append(out, p.StreamProfile)
		}
	})
	return out
}

type profileInstance struct {
	StreamProfile
	instance string // S<n>
}

// streamProfiles reads the StreamProfile.S<n> groups of a state, in instance order.
func streamProfiles(st *State) []profileInstance {
	byInst := map[string]*profileInstance{}
	for k, v := range st.Params {
		rest, ok := strings.CutPrefix(k, "StreamProfile.S")
		if !ok {
			continue
		}
		n, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		inst := "S" + n
		p := byInst[inst]
		if p == nil {
			p = &profileInstance{instance: inst}
			byInst[inst] = p
		}
		switch field {
		case "Name":
			p.Name = v
		case "Description":
			p.Description = v
		case "Parameters":
			p.Parameters = v
		}
	}
	out := make([]profileInstance, 0, len(byInst))
	for _, p := range byInst {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].instance[1:])
		b, _ := strconv.Atoi(out[j].instance[1:])
		return a < b
	})
	return out
}

// validProfile is what the camera accepts as a profile: a name of printable characters
// and parameters that parse as a query string.
func validProfile(p StreamProfile) bool {
	if p.Name == "" || len(p.Name) > 64 || len(p.Description) > 1024 || len(p.Parameters) > 4096 {
		return false
	}
	for _, r := range p.Name {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	_, err := url.ParseQuery(p.Parameters)
	return err == nil
}

type streamProfileNames struct {
	Names []struct {
		Name string `json:"name"`
	} `json:"streamProfileName"`
}

var errProfileMissing = errors.New("no such stream profile")

func (c *Camera) handleStreamProfile(q *request) {
	api := apiStreamProfile
	// create, update and remove write state: operators and admins (vapix.md 1.3 gives
	// operator for param.cgi updates; the stream profile guide asks for operator too).
	write := func(req jsonRequest, fn func(st *State) error) {
		if !q.require(Operator, true) {
			return
		}
		var missing bool
		err := c.update(func(st *State) error {
			err := fn(st)
			missing = errors.Is(err, errProfileMissing)
			return err
		})
		switch {
		case missing:
			q.jsonError(api, req, errNoSuchProfile, "The requested profile does not exist")
		case err != nil:
			q.jsonError(api, req, api.badParams, "Invalid parameter value specified")
		default:
			q.jsonData(api, req, struct{}{})
		}
	}
	q.serveJSON(api, map[string]func(jsonRequest){
		"list": func(req jsonRequest) {
			var p streamProfileNames
			if !q.params(api, req, &p) {
				return
			}
			var st State
			c.view(func(s *State) { st = cloneState(*s) })
			all := streamProfiles(&st)
			list := make([]StreamProfile, 0, len(all))
			for _, pi := range all {
				if len(p.Names) == 0 {
					list = append(list, pi.StreamProfile)
					continue
				}
				for _, n := range p.Names {
					if n.Name == pi.Name {
						list = append(list, pi.StreamProfile)
					}
				}
			}
			if len(p.Names) > 0 && len(list) != len(p.Names) {
				q.jsonError(api, req, errNoSuchProfile, "The requested profile does not exist")
				return
			}
			maxProfiles, _ := strconv.Atoi(c.paramValue(&st, "StreamProfile.MaxGroups"))
			q.jsonData(api, req, map[string]any{"streamProfile": list, "maxProfiles": maxProfiles})
		},
		"create": func(req jsonRequest) {
			var p struct {
				Profiles []StreamProfile `json:"streamProfile"`
			}
			if !q.params(api, req, &p) {
				return
			}
			write(req, func(st *State) error {
				if len(p.Profiles) == 0 {
					return errParamRejected
				}
				maxProfiles, _ := strconv.Atoi(c.paramValue(st, "StreamProfile.MaxGroups"))
				existing := streamProfiles(st)
				used := map[string]bool{}
				names := map[string]bool{}
				for _, e := range existing {
					used[e.instance] = true
					names[e.Name] = true
				}
				if len(existing)+len(p.Profiles) > maxProfiles {
					return errParamRejected
				}
				n := 0
				for _, np := range p.Profiles {
					if !validProfile(np) || names[np.Name] {
						return errParamRejected
					}
					names[np.Name] = true
					for used["S"+strconv.Itoa(n)] {
						n++
					}
					inst := "StreamProfile.S" + strconv.Itoa(n) + "."
					used["S"+strconv.Itoa(n)] = true
					st.Params[inst+"Name"] = np.Name
					st.Params[inst+"Description"] = np.Description
					st.Params[inst+"Parameters"] = np.Parameters
				}
				return nil
			})
		},
		"update": func(req jsonRequest) {
			var p struct {
				Profiles []StreamProfile `json:"streamProfile"`
			}
			if !q.params(api, req, &p) {
				return
			}
			write(req, func(st *State) error {
				if len(p.Profiles) == 0 {
					return errParamRejected
				}
				existing := streamProfiles(st)
				for _, np := range p.Profiles {
					if !validProfile(np) {
						return errParamRejected
					}
					found := false
					for _, e := range existing {
						if e.Name == np.Name {
							inst := "StreamProfile." + e.instance + "."
							st.Params[inst+"Description"] = np.Description
							st.Params[inst+"Parameters"] = np.Parameters
							found = true
						}
					}
					if !found {
						return errProfileMissing
					}
				}
				return nil
			})
		},
		"remove": func(req jsonRequest) {
			var p streamProfileNames
			if !q.params(api, req, &p) {
				return
			}
			write(req, func(st *State) error {
				if len(p.Names) == 0 {
					return errParamRejected
				}
				existing := streamProfiles(st)
				for _, n := range p.Names {
					found := false
					for _, e := range existing {
						if e.Name == n.Name {
							for _, f := range []string{"Name", "Description", "Parameters"} {
								delete(st.Params, "StreamProfile."+e.instance+"."+f)
							}
							found = true
						}
					}
					if !found {
						return errProfileMissing
					}
				}
				return nil
			})
		},
	})
}
