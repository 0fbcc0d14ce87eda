package camsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// CameraStatus is a camera as the control API lists it.
type CameraStatus struct {
	Info
	Up       bool      `json:"up"`
	Firmware string    `json:"firmware"`
	Faults   string    `json:"faults"` // --fault syntax; empty when healthy
	Counters *Counters `json:"counters,omitempty"`
}

// ControlHandler serves camsim's own control API, apart from the VAPIX paths (it never
// runs on a camera's address):
//
//	GET  /cameras                      every camera with its status
//	GET  /cameras/{serial}             one camera, with its counters
//	GET  /cameras/{serial}/counters    its counters
//	GET  /counters                     counters of every camera, by serial
//	POST /cameras/{serial}/motion      emit motion (?active=false to end it)
//	POST /motion                       the same on every camera
//	POST /cameras/{serial}/tampering, /daynight, /input, /vmd   other events (eventtopics.go)
//	GET  /cameras/{serial}/faults      its faults in --fault syntax
//	PUT  /cameras/{serial}/faults      replace them (body: --fault syntax; empty heals)
//	PUT  /faults                       the same on every camera
//	POST /cameras/{serial}/reboot      reboot it
//	POST /cameras/{serial}/power-off   make it vanish from the network
//	POST /cameras/{serial}/power-on    bring it back
//	GET  /cameras/{serial}/sdcard      its SD card: status and recordings
//	POST /cameras/{serial}/sdcard/{remove,insert,fail}
//	POST /cameras/{serial}/recordings  add a finished recording (?duration=&type=&eventid=)
func (f *Fleet) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cameras", func(w http.ResponseWriter, r *http.Request) {
		out := make([]CameraStatus, 0, len(f.cameras))
		for _, c := range f.cameras {
			out = append(out, c.status(false))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /cameras/{serial}", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.status(true))
	}))
	mux.HandleFunc("GET /cameras/{serial}/counters", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.Counters())
	}))
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		out := make(map[string]Counters, len(f.cameras))
		for _, c := range f.cameras {
			out[c.id.Serial] = c.Counters()
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /cameras/{serial}/motion", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		active, ok := activeArg(w, r)
		if ok {
			c.TriggerMotion(active)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	mux.HandleFunc("POST /motion", func(w http.ResponseWriter, r *http.Request) {
		active, ok := activeArg(w, r)
		if !ok {
			return
		}
		for _, c := range f.cameras {
			c.TriggerMotion(active)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /cameras/{serial}/faults", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, c.Faults().String()+"\n")
	}))
	mux.HandleFunc("PUT /cameras/{serial}/faults", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		if ft, ok := faultsBody(w, r); ok {
			c.SetFaults(ft)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	mux.HandleFunc("PUT /faults", func(w http.ResponseWriter, r *http.Request) {
		ft, ok := faultsBody(w, r)
		if !ok {
			return
		}
		for _, c := range f.cameras {
			c.SetFaults(ft)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /cameras/{serial}/reboot", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		c.Reboot()
		w.WriteHeader(http.StatusAccepted)
	}))
	mux.HandleFunc("POST /cameras/{serial}/power-off", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		c.PowerOff()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /cameras/{serial}/power-on", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		if err := c.PowerOn(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	f.eventControlRoutes(mux)
	f.storageRoutes(mux)
	return mux
}

func (f *Fleet) withCamera(h func(*Camera, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := f.Camera(strings.ToUpper(r.PathValue("serial")))
		if !ok {
			http.Error(w, "no camera with serial "+r.PathValue("serial"), http.StatusNotFound)
			return
		}
		h(c, w, r)
	}
}

func (c *Camera) status(withCounters bool) CameraStatus {
	s := CameraStatus{Info: c.Info(), Up: c.Up(), Firmware: c.FirmwareVersion(), Faults: c.Faults().String()}
	if withCounters {
		n := c.Counters()
		s.Counters = &n
	}
	return s
}

func activeArg(w http.ResponseWriter, r *http.Request) (bool, bool) {
	v := r.URL.Query().Get("active")
	if v == "" {
		return true, true
	}
	active, err := strconv.ParseBool(v)
	if err != nil {
		http.Error(w, "active: want true or false", http.StatusBadRequest)
		return false, false
	}
	return active, true
}

func faultsBody(w http.ResponseWriter, r *http.Request) (Faults, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return Faults{}, false
	}
	ft, err := ParseFaults(strings.TrimSpace(string(b)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return Faults{}, false
	}
	return ft, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
