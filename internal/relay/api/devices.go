package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/oak"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type deviceView struct {
	Serial string `json:"serial"`
	Name   string `json:"name,omitempty"`
	Model  string `json:"model,omitempty"`
	Group  string `json:"group,omitempty"`
	// Status is the onboarding status: registered, claimed or onboarded.
	Status store.DeviceStatus `json:"status"`
	// Integration is light (static facts only) or deep (managed by an agent).
	Integration string `json:"integration"`
	// Tier is "device" for an agent on the device, "edgehost" for one beside it, absent
	// for light integration.
	Tier            string    `json:"tier,omitempty"`
	EdgeHost        string    `json:"edgeHost,omitempty"`
	FirmwareVersion string    `json:"firmwareVersion,omitempty"`
	Connected       bool      `json:"connected"`
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	CreatedAt       time.Time `json:"createdAt"`
	ClaimedAt       time.Time `json:"claimedAt,omitzero"`
}

func viewDevice(d store.Device) deviceView {
	v := deviceView{Serial: d.Serial, Name: d.Name, Model: d.Model, Group: d.Group, Status: d.Status,
		Integration: "light", EdgeHost: d.EdgeHost, FirmwareVersion: d.FirmwareVersion,
		Connected: d.Connected, LastSeen: d.LastSeen, CreatedAt: d.CreatedAt, ClaimedAt: d.ClaimedAt}
	switch {
	case d.AgentID != "":
		v.Integration, v.Tier = "deep", "device"
	case d.EdgeHost != "":
		v.Integration, v.Tier = "deep", "edgehost"
	}
	return v
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "status", "model", "group", "limit", "cursor":
		default:
			return problem.Invalid(k, "unknown query parameter; use status, model, group, limit, cursor")
		}
	}
	var f store.DeviceFilter
	if s := q.Get("status"); s != "" {
		st, err := store.ParseDeviceStatus(s)
		if err != nil {
			return problem.Invalid("status", "must be registered, claimed or onboarded")
		}
		f.Status = st
	}
	f.Model, f.Group = q.Get("model"), q.Get("group")
	limit := defaultPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return problem.Invalid("limit", "must be a number from 1 to "+strconv.Itoa(maxPageSize))
		}
		limit = n
	}
	ds, next, err := a.store.ListDevices(r.Context(), PrincipalFrom(r.Context()).Org, f, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := listOf(make([]deviceView, 0, len(ds)))
	for _, d := range ds {
		out.Items = append(out.Items, viewDevice(d))
	}
	out.NextCursor = next
	return writeJSON(w, http.StatusOK, out)
}

type deviceBody struct {
	Serial string `json:"serial"`
	Model  string `json:"model"`
	Name   string `json:"name"`
	Group  string `json:"group"`
	// OAK is the owner authentication key: with it the request claims the device.
	OAK string `json:"oak"`
}

// addDevice is POST /devices: register a device by its facts (light integration), or,
// with oak, claim it so that its on-device agent can enroll.
func (a *API) addDevice(w http.ResponseWriter, r *http.Request) error {
	var body deviceBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	serial, err := store.NormalizeSerial(strings.TrimSpace(body.Serial))
	if err != nil {
		return problem.Invalid("serial", "must be 12 hexadecimal digits (the MAC address, as on the label)")
	}
	d := store.Device{Org: PrincipalFrom(r.Context()).Org, Serial: serial, Group: body.Group}
	if body.Name != "" {
		if d.Name, err = cleanName("name", body.Name, 100); err != nil {
			return err
		}
	}
	if body.Model != "" {
		if d.Model, err = cleanName("model", body.Model, 64); err != nil {
			return err
		}
	}
	if body.OAK == "" {
		d, err = a.store.RegisterDevice(r.Context(), d)
		if errors.Is(err, store.ErrExists) {
			return problem.New(problem.Conflict, "this device is already in the organization's inventory")
		}
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/orgs/"+d.Org+"/devices/"+d.Serial)
		return writeJSON(w, http.StatusCreated, viewDevice(d))
	}
	key, err := oak.DeriveKey(serial, body.OAK)
	if err != nil {
		return problem.Invalid("oak", "the owner authentication key is 8 to 64 letters and digits, as printed on the device label")
	}
	d, created, err := a.store.ClaimDevice(r.Context(), d, key)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/orgs/"+d.Org+"/devices/"+d.Serial)
	}
	return writeJSON(w, status, viewDevice(d))
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := a.store.Device(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewDevice(d))
}

type devicePatch struct {
	Name  *string `json:"name"`
	Group *string `json:"group"` // "" takes the device out of its group
}

func (a *API) patchDevice(w http.ResponseWriter, r *http.Request) error {
	var body devicePatch
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	var name string
	if body.Name != nil && *body.Name != "" {
		var err error
		if name, err = cleanName("name", *body.Name, 100); err != nil {
			return err
		}
	}
	d, err := a.store.UpdateDevice(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("serial"), func(d *store.Device) error {
		if body.Name != nil {
			d.Name = name
		}
		if body.Group != nil {
			d.Group = *body.Group
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewDevice(d))
}

func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteDevice(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("serial")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
