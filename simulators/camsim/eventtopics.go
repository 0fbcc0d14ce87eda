package camsim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Events besides motion (vapix.md 13.2), each a stateful ("property") event: the hub keeps
// its latest state and sends it to every stream right after events:configure. Topics,
// source and data names are those of recorded notifications (Kane610/axis event
// fixtures): tampering, digital input ports, day/night and the AXIS Video Motion
// Detection 4 profiles.
const (
	TopicTampering = "tns1:VideoSource/GlobalSceneChange/ImagingService"
	TopicIOPort    = "tns1:Device/tnsaxis:IO/Port"
	TopicDayNight  = "tns1:VideoSource/tnsaxis:DayNightVision"
	TopicVMD4Any   = "tnsaxis:CameraApplicationPlatform/VMD/Camera1ProfileANY"
	// TopicRelay is an output port's state [U fields: vapix.md 13.2].
	TopicRelay = "tns1:Device/Trigger/Relay"
)

// maxVMDProfiles bounds the VMD4 profiles a camera has (the ACAP allows ten).
const maxVMDProfiles = 10

// TopicVMD4Profile is the topic of VMD4 profile n on camera 1.
func TopicVMD4Profile(n int) string {
	return "tnsaxis:CameraApplicationPlatform/VMD/Camera1Profile" + strconv.Itoa(n)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (c *Camera) publishProperty(topic string, source, data map[string]string) {
	c.events.publish(Event{Topic: topic, Timestamp: c.now(), Source: source, Key: map[string]string{}, Data: data, Property: true})
}

// initialProperties gives every property instance the camera has its state at power-on,
// so that a new event stream learns the state of each one right after events:configure,
// changed or not, as real cameras report them: no motion, no tampering, day mode, every
// input inactive, every output inactive.
func (c *Camera) initialProperties() {
	at := c.now()
	for _, e := range motionEvents(false, at) {
		c.events.publish(e)
	}
	prop := func(topic string, source, data map[string]string) {
		c.events.publish(Event{Topic: topic, Timestamp: at, Source: source, Key: map[string]string{}, Data: data, Property: true})
	}
	prop(TopicVMD4Any, map[string]string{}, map[string]string{"active": "0"})
	prop(TopicTampering, map[string]string{"Source": "0"}, map[string]string{"State": "0"})
	prop(TopicDayNight, map[string]string{"VideoSourceConfigurationToken": "1"}, map[string]string{"day": "1"})
	for i := range modelIOPorts(c.id.Model) {
		if c.paramValue(&c.st, "IOPort.I"+strconv.Itoa(i)+".Direction") == "output" {
			prop(TopicRelay, map[string]string{"RelayToken": strconv.Itoa(i)}, map[string]string{"LogicalState": "inactive"})
		} else {
			prop(TopicIOPort, map[string]string{"port": strconv.Itoa(i + 1)}, map[string]string{"state": "0"})
		}
	}
}

// TriggerTampering emits the tampering (global scene change) state.
func (c *Camera) TriggerTampering(active bool) {
	c.publishProperty(TopicTampering, map[string]string{"Source": "0"}, map[string]string{"State": flag(active)})
}

// SetDayNight emits the day/night state of the image source (day true: day mode).
func (c *Camera) SetDayNight(day bool) {
	c.publishProperty(TopicDayNight, map[string]string{"VideoSourceConfigurationToken": "1"}, map[string]string{"day": flag(day)})
}

// ErrNoSuchPort is returned for a port the camera's model does not have as an input.
var ErrNoSuchPort = errors.New("no such input port")

// SetDigitalInput sets digital input port (1-based, as events number ports) active or
// inactive and emits its state. io/portmanagement.cgi reports the port closed or open
// accordingly.
func (c *Camera) SetDigitalInput(port int, active bool) error {
	ports := modelIOPorts(c.id.Model)
	if port < 1 || port > len(ports) {
		return fmt.Errorf("port %d of %s: %w", port, c.id.Model.ProdNbr, ErrNoSuchPort)
	}
	if ports[port-1].direction != "input" && !ports[port-1].configurable {
		return fmt.Errorf("port %d of %s is an output: %w", port, c.id.Model.ProdNbr, ErrNoSuchPort)
	}
	c.publishProperty(TopicIOPort, map[string]string{"port": strconv.Itoa(port)}, map[string]string{"state": flag(active)})
	return nil
}

// inputActive reports the state of digital port (1-based).
func (c *Camera) inputActive(port int) bool {
	e, ok := c.events.current(TopicIOPort, map[string]string{"port": strconv.Itoa(port)})
	return ok && e.Data["state"] == "1"
}

// ErrNoSuchProfile is returned for a VMD4 profile number out of range.
var ErrNoSuchProfile = errors.New("no such VMD profile")

// TriggerVMD emits VMD4 profile n's state and the any-profile topic, which is active
// while any profile is.
func (c *Camera) TriggerVMD(profile int, active bool) error {
	if profile < 1 || profile > maxVMDProfiles {
		return fmt.Errorf("VMD profile %d: %w", profile, ErrNoSuchProfile)
	}
	c.publishProperty(TopicVMD4Profile(profile), map[string]string{}, map[string]string{"active": flag(active)})
	anyActive := false
	for n := 1; n <= maxVMDProfiles; n++ {
		if e, ok := c.events.current(TopicVMD4Profile(n), map[string]string{}); ok && e.Data["active"] == "1" {
			anyActive = true
		}
	}
	c.publishProperty(TopicVMD4Any, map[string]string{}, map[string]string{"active": flag(anyActive)})
	return nil
}

// eventControlRoutes adds the control API's event triggers besides motion:
//
//	POST /cameras/{serial}/tampering[?active=false]
//	POST /cameras/{serial}/daynight[?day=false]
//	POST /cameras/{serial}/input?port=N[&active=false]   (N 1-based)
//	POST /cameras/{serial}/vmd?profile=N[&active=false]
func (f *Fleet) eventControlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /cameras/{serial}/tampering", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		if active, ok := activeArg(w, r); ok {
			c.TriggerTampering(active)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	mux.HandleFunc("POST /cameras/{serial}/daynight", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		day := true
		if v := r.URL.Query().Get("day"); v != "" {
			var err error
			if day, err = strconv.ParseBool(v); err != nil {
				http.Error(w, "day: want true or false", http.StatusBadRequest)
				return
			}
		}
		c.SetDayNight(day)
		w.WriteHeader(http.StatusNoContent)
	}))
	numbered := func(arg string, set func(c *Camera, n int, active bool) error) func(*Camera, http.ResponseWriter, *http.Request) {
		return func(c *Camera, w http.ResponseWriter, r *http.Request) {
			n, err := strconv.Atoi(r.URL.Query().Get(arg))
			if err != nil {
				http.Error(w, arg+": want a number", http.StatusBadRequest)
				return
			}
			active, ok := activeArg(w, r)
			if !ok {
				return
			}
			if err := set(c, n, active); err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /cameras/{serial}/input", f.withCamera(numbered("port", (*Camera).SetDigitalInput)))
	mux.HandleFunc("POST /cameras/{serial}/vmd", f.withCamera(numbered("profile", (*Camera).TriggerVMD)))
}
