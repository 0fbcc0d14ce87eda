package camsim

import (
	"errors"
	"net/http"
	"time"
)

// SDCardStatus is a camera's SD card as the control API shows it.
type SDCardStatus struct {
	Status     string      `json:"status"` // OK, disconnected or failed
	Recordings []Recording `json:"recordings"`
}

// storageRoutes are the control API's SD card requests.
func (f *Fleet) storageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /cameras/{serial}/sdcard", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		status, recs := c.SDCard()
		if recs == nil {
			recs = []Recording{}
		}
		writeJSON(w, http.StatusOK, SDCardStatus{Status: status, Recordings: recs})
	}))
	for action, status := range map[string]string{"remove": DiskDisconnected, "insert": DiskOK, "fail": DiskFailed} {
		mux.HandleFunc("POST /cameras/{serial}/sdcard/"+action, f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
			if err := c.SetSDCard(status); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	}
	mux.HandleFunc("POST /cameras/{serial}/recordings", f.withCamera(func(c *Camera, w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d, err := time.ParseDuration(q.Get("duration"))
		if err != nil {
			http.Error(w, "duration: want a Go duration such as 5s", http.StatusBadRequest)
			return
		}
		typ := q.Get("type")
		if typ == "" {
			typ = "triggered"
		}
		rec, err := c.AddRecording(typ, q.Get("eventid"), d)
		switch {
		case errors.Is(err, ErrNoSDCard):
			http.Error(w, err.Error(), http.StatusConflict)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusCreated, rec)
	}))
}
