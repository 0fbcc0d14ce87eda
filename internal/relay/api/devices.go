package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

type deviceView struct {
	Serial string `json:"serial"`
	Name   string `json:"name,omitempty"`
	Model  string `json:"model,omitempty"`
	Group  string `json:"group,omitempty"`
	// Status is the onboarding status: registered, claimed or onboarded.
	Status store.DeviceStatus `json:"status"`
	// Proven says the organization proved the device is its own (its agent proved the
	// owner authentication key, or its edge host took it over with the device's admin
	// credentials); an unproven record blocks no other organization.
	Proven bool `json:"proven"`
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

	// Static facts from the model catalog.
	HardwareID    string `json:"hardwareId,omitempty"`
	ProductFamily string `json:"productFamily,omitempty"`
	WarrantyEnd   string `json:"warrantyEnd,omitempty"`
	EndOfSale     string `json:"endOfSale,omitempty"`
	EndOfSupport  string `json:"endOfSupport,omitempty"`
	RecommendedOS string `json:"recommendedOS,omitempty"`

	// Management: mode (managed, connected, standalone) and why it last changed, the
	// profile, and what the agent last saw.
	Mode        store.Mode             `json:"mode"`
	ModeHistory []modeChangeView       `json:"modeHistory,omitempty"`
	Profile     string                 `json:"profile,omitempty"`
	Address     string                 `json:"address,omitempty"`
	Apps        []profile.InstalledApp `json:"apps,omitempty"`
	Drift       []profile.Drift        `json:"drift,omitempty"`
	ProfileDiff []profile.Change       `json:"profileDiff,omitempty"`
	ReportedAt  time.Time              `json:"reportedAt,omitzero"`
	// OSRecommendation is set when the release catalog holds a newer AXIS OS for a
	// connected device's model on its track (managed devices are brought to their
	// profile instead).
	OSRecommendation string `json:"osRecommendation,omitempty"`
}

// deviceSummary is a device in a list read with view=summary: what a table of many
// devices shows and filters on (DeviceSummary in api/openapi.yaml). It is cheap to make
// and to send (no catalog facts, no mode history, no report), so a whole inventory of
// thousands reads in one request.
type deviceSummary struct {
	Serial          string             `json:"serial"`
	Name            string             `json:"name,omitempty"`
	Model           string             `json:"model,omitempty"`
	Group           string             `json:"group,omitempty"`
	Status          store.DeviceStatus `json:"status"`
	Integration     string             `json:"integration"`
	EdgeHost        string             `json:"edgeHost,omitempty"`
	FirmwareVersion string             `json:"firmwareVersion,omitempty"`
	Connected       bool               `json:"connected"`
	Mode            store.Mode         `json:"mode"`
	Address         string             `json:"address,omitempty"`
}

func summarize(d store.Device) deviceSummary {
	s := deviceSummary{Serial: d.Serial, Name: d.Name, Model: d.Model, Group: d.Group, Status: d.Status, Integration: "light",
		EdgeHost: d.EdgeHost, FirmwareVersion: d.FirmwareVersion, Connected: d.Connected, Mode: d.EffectiveMode(), Address: d.Address}
	if d.Deep() {
		s.Integration = "deep"
	}
	return s
}

// modeChangeView is one switch of a device's mode as people read it: who made it by
// e-mail (a person) or name (an application), with the ID beside it.
type modeChangeView struct {
	At     time.Time  `json:"at"`
	From   store.Mode `json:"from"`
	To     store.Mode `json:"to"`
	Reason string     `json:"reason"`
	// By is the person's e-mail, the application's name, or "system" (drift).
	By string `json:"by"`
	// ByID is the user or client ID; absent for "system".
	ByID string `json:"byId,omitempty"`
}

// viewer makes the device views of one answer: it turns the user and client IDs of
// mode changes into what people recognize, caching them (a list of devices names the
// same few people), and holds the release catalog the AXIS OS recommendations come from.
type viewer struct {
	a     *API
	org   string
	names map[string]string
	rels  []store.Release
}

func (a *API) viewer(ctx context.Context, org string) (*viewer, error) {
	rels, err := a.store.Releases(ctx)
	if err != nil {
		return nil, fmt.Errorf("release catalog: %w", err)
	}
	return &viewer{a: a, org: org, names: map[string]string{}, rels: rels}, nil
}

// whoIs names one user or client as people recognize it (viewer.name).
func (a *API) whoIs(ctx context.Context, org, id string) string {
	return (&viewer{a: a, org: org, names: map[string]string{}}).name(ctx, id)
}

// view is the device as the API shows it.
func (w *viewer) view(ctx context.Context, d store.Device) deviceView {
	return w.a.viewDevice(ctx, w, d)
}

// name is the e-mail of a user, the name of an application of the organization, or the
// ID itself when it names neither (a person since removed, "system").
func (w *viewer) name(ctx context.Context, id string) string {
	if n, ok := w.names[id]; ok {
		return n
	}
	n := id
	switch {
	case strings.HasPrefix(id, "usr_"):
		if u, err := w.a.store.User(ctx, id); err == nil {
			n = u.Email
		}
	case strings.HasPrefix(id, "cli_"):
		if c, err := w.a.store.Client(ctx, w.org, id); err == nil {
			n = "application " + c.Name
		}
	}
	w.names[id] = n
	return n
}

func (w *viewer) history(ctx context.Context, h []store.ModeChange) []modeChangeView {
	if len(h) == 0 {
		return nil
	}
	out := make([]modeChangeView, len(h))
	for i, c := range h {
		out[i] = modeChangeView{At: c.At, From: c.From, To: c.To, Reason: c.Reason, By: w.name(ctx, c.By)}
		if c.By != "system" {
			out[i].ByID = c.By
		}
	}
	return out
}

func (a *API) viewDevice(ctx context.Context, vw *viewer, d store.Device) deviceView {
	v := deviceView{Serial: d.Serial, Name: d.Name, Model: d.Model, Group: d.Group, Status: d.Status, Proven: d.Proven,
		Integration: "light", EdgeHost: d.EdgeHost, FirmwareVersion: d.FirmwareVersion,
		Connected: d.Connected, LastSeen: d.LastSeen, CreatedAt: d.CreatedAt, ClaimedAt: d.ClaimedAt,
		HardwareID: d.HardwareID, Mode: d.EffectiveMode(), ModeHistory: vw.history(ctx, d.ModeHistory), Profile: d.Profile,
		Address: d.Address, Apps: d.Apps, Drift: d.Drift, ProfileDiff: d.Diff, ReportedAt: d.ReportedAt}
	if m, ok := a.cfg.Catalog.Lookup(d.Model); ok {
		v.ProductFamily, v.EndOfSale, v.EndOfSupport, v.RecommendedOS = m.ProductFamily, m.EndOfSale, m.EndOfSupport, m.RecommendedOS
		if end := m.WarrantyEnd(d.CreatedAt); !end.IsZero() {
			v.WarrantyEnd = end.Format(time.DateOnly)
		}
	}
	// What to upgrade to comes from what is really published (the release catalog), on
	// the device's own track and newer than what it runs: the model catalog's
	// recommendation is static and may be older than the device already is.
	if v.Mode == store.ModeConnected {
		if up := store.OSUpgrade(vw.rels, d.Model, d.FirmwareVersion); up != "" {
			v.OSRecommendation = "AXIS OS " + up + " is available for this model on its track (runs " + d.FirmwareVersion + ")"
			if profile.TrackOf(d.FirmwareVersion) == "" {
				v.OSRecommendation = "AXIS OS " + up + " is available for this model (runs " + d.FirmwareVersion + ", on no supported track)"
			}
		}
	}
	switch {
	case d.AgentID != "":
		v.Integration, v.Tier = "deep", "device"
	case d.EdgeHost != "":
		v.Integration, v.Tier = "deep", "edgehost"
	}
	return v
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "status", "model", "group", "mode", "edgehost", "connected", "limit", "cursor", "view")
	if err != nil {
		return err
	}
	summary := false
	switch q.Get("view") {
	case "", "full":
	case "summary":
		summary = true
	default:
		return problem.Invalid("view", "must be full or summary")
	}
	var f store.DeviceFilter
	if f.Status, _, err = queryValue(q, "status", store.ParseDeviceStatus, "must be registered, claimed or onboarded"); err != nil {
		return err
	}
	if f.Mode, _, err = queryValue(q, "mode", store.ParseMode, "must be managed, connected or standalone"); err != nil {
		return err
	}
	connected, set, err := queryValue(q, "connected", strconv.ParseBool, "must be true or false")
	if err != nil {
		return err
	}
	if set {
		f.Connected = &connected
	}
	f.Model, f.Group, f.EdgeHost = q.Get("model"), q.Get("group"), q.Get("edgehost")
	limit, err := pageLimitUpTo(q.Get("limit"), maxDevicePageSize)
	if err != nil {
		return err
	}
	ds, next, err := a.store.ListDevices(r.Context(), PrincipalFrom(r.Context()).Org, f, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	if summary {
		out := listOf(make([]deviceSummary, len(ds)))
		for i, d := range ds {
			out.Items[i] = summarize(d)
		}
		out.NextCursor = next
		return writeJSON(w, http.StatusOK, out)
	}
	out := listOf(make([]deviceView, 0, len(ds)))
	vw, err := a.viewer(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	for _, d := range ds {
		out.Items = append(out.Items, vw.view(r.Context(), d))
	}
	out.NextCursor = next
	return writeJSON(w, http.StatusOK, out)
}

// pageLimit reads a limit query parameter: defaultPageSize when empty.
func pageLimit(s string) (int, error) { return pageLimitUpTo(s, maxPageSize) }

// pageLimitUpTo is pageLimit with another largest page.
func pageLimitUpTo(s string, most int) (int, error) {
	if s == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, problem.Invalid("limit", "must be a number from 1 to "+strconv.Itoa(most))
	}
	return n, nil
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
// with oak, claim it so that its on-device agent can enroll. Neither proves the device
// is the organization's: the record blocks no other organization until the device's
// agent proves the key or an edge host of the organization takes the device over.
// Every attempt is in the audit log.
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
		a.auditDevice(r, store.AuditDeviceRegister, serial, err, "light registration")
		if errors.Is(err, store.ErrExists) {
			return problem.New(problem.Conflict, "this device is already in the organization's inventory")
		}
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/orgs/"+d.Org+"/devices/"+d.Serial)
		return a.writeDevice(w, r, http.StatusCreated, d)
	}
	key, err := oak.DeriveKey(serial, body.OAK)
	if err != nil {
		err := problem.Invalid("oak", "the owner authentication key is 8 to 64 letters and digits, as printed on the device label")
		a.auditDevice(r, store.AuditDeviceClaim, serial, err, "claim with an owner authentication key")
		return err
	}
	end, err := a.proofs.start(w, r, "org:"+d.Org)
	if err != nil {
		a.auditDevice(r, store.AuditDeviceClaim, serial, err, "claim with an owner authentication key")
		return err
	}
	d, created, err := a.store.ClaimDevice(r.Context(), d, key)
	a.auditDevice(r, store.AuditDeviceClaim, serial, err, "claim with an owner authentication key")
	failed := errors.Is(err, store.ErrOAKMismatch) || errors.Is(err, store.ErrClaimedElsewhere)
	end(failed)
	switch {
	case failed:
		a.failedDeviceProof(r, serial)
		return err
	case err != nil:
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/orgs/"+d.Org+"/devices/"+d.Serial)
	}
	return a.writeDevice(w, r, status, d)
}

// failedDeviceProof is where every failed attempt to prove a device is one's own ends up:
// a claim with a wrong owner authentication key or of a device another organization
// proved is its own, an onboarding of such a device, and an on-device agent's proof that
// matches no claim. Those that could guess a key are also counted by a.proofs; the
// attempt is already in the audit log (auditDevice) when this is called.
func (a *API) failedDeviceProof(r *http.Request, serial string) {
	p := PrincipalFrom(r.Context())
	who := ""
	if p != nil {
		who = p.Subject()
	}
	a.log.WarnContext(r.Context(), "device ownership not proven", "serial", serial, "by", who, "remote", r.RemoteAddr)
}

// auditDevice records an attempt on the device inventory: action, the serial, and the
// outcome (err nil, or the problem it answers).
func (a *API) auditDevice(r *http.Request, action, serial string, err error, detail string) {
	p := PrincipalFrom(r.Context())
	if a.cfg.Audit == nil || p == nil || p.Org == "" {
		return
	}
	status := http.StatusOK
	if err != nil {
		var pr *problem.Problem
		if !errors.As(err, &pr) {
			pr = storeProblem(err)
		}
		status = pr.Status
		detail += ": refused (" + path.Base(pr.Type) + ")"
	}
	a.cfg.Audit.Record(store.AuditEntry{At: a.store.Now().UTC(), Org: p.Org, Principal: p.Subject(), Action: action, Serial: serial,
		Method: r.Method, Path: r.URL.Path, Status: status, Detail: detail})
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := a.store.Device(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	return a.writeDevice(w, r, http.StatusOK, d)
}

type devicePatch struct {
	Name  *string `json:"name"`
	Group *string `json:"group"` // "" takes the device out of its group
	// Mode switches an onboarded device between managed and connected.
	Mode *string `json:"mode"`
	// Reason is recorded with a mode switch.
	Reason  string  `json:"reason"`
	Profile *string `json:"profile"` // a profile of the organization
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
	p := PrincipalFrom(r.Context())
	var mode store.Mode
	if body.Mode != nil {
		m, err := store.ParseMode(*body.Mode)
		if err != nil || m == store.ModeStandalone {
			return problem.Invalid("mode", "must be managed or connected (standalone devices are those not onboarded)")
		}
		mode = m
	}
	reason, err := cleanName("reason", cmp.Or(body.Reason, "set by "+a.whoIs(r.Context(), p.Org, p.Subject())), 200)
	if err != nil {
		return err
	}
	if body.Profile != nil {
		if _, err := a.store.Profile(r.Context(), p.Org, *body.Profile); errors.Is(err, store.ErrNotFound) {
			return problem.Invalid("profile", "no such profile in this organization")
		} else if err != nil {
			return err
		}
	}
	now := a.store.Now()
	d, err := a.store.UpdateDevice(r.Context(), p.Org, r.PathValue("serial"), func(d *store.Device) error {
		if body.Name != nil {
			d.Name = name
		}
		if body.Group != nil {
			d.Group = *body.Group
		}
		if body.Profile != nil {
			d.Profile = *body.Profile
		}
		if mode != "" {
			if d.Status != store.StatusOnboarded {
				return problem.Invalid("mode", "the device is not onboarded: it stays standalone until an agent manages it")
			}
			d.SetMode(mode, reason, p.Subject(), now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.writeDevice(w, r, http.StatusOK, d)
}

// deleteDevice removes a device from the inventory. An edge host that managed it is told
// to forget it (remove its own account from the device where it can, drop the
// credentials, stop reporting it); one that is offline is told at its next report, and
// its reports do not bring the device back meanwhile.
func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	d, err := a.store.DeleteDevice(r.Context(), p.Org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	a.auditDevice(r, store.AuditDeviceDelete, d.Serial, nil, "deleted from the inventory")
	if a.cfg.Links != nil { // the device's own agent, if it has one
		a.cfg.Links.Disconnect(store.DeviceAgentID(d.Serial))
	}
	if d.EdgeHost != "" {
		a.tellForget(r.Context(), p.Org, d.EdgeHost, d.Serial)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// forgetTimeout bounds telling an edge host to forget a deleted device; one that does not
// answer in time is told again at its next report.
const forgetTimeout = 10 * time.Second

// tellForget asks an edge host to forget a device now; when it cannot be reached, its next
// report learns it (store.ReportDevices).
func (a *API) tellForget(ctx context.Context, org, edgeHost, serial string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forgetTimeout)
	defer cancel()
	err := a.callAgent(ctx, edgeHost, http.MethodPost, linkapi.ForgetPath, linkapi.ForgetRequest{Serials: []string{serial}}, nil)
	if err == nil {
		err = a.store.ForgotDevice(ctx, org, edgeHost, serial)
	}
	if err != nil {
		a.log.InfoContext(ctx, "edge host to forget a deleted device at its next report", "edgehost", edgeHost, "serial", serial, "err", err)
	}
}

// writeDevice answers with one device.
func (a *API) writeDevice(w http.ResponseWriter, r *http.Request, status int, d store.Device) error {
	vw, err := a.viewer(r.Context(), PrincipalFrom(r.Context()).Org)
	if err != nil {
		return err
	}
	return writeJSON(w, status, vw.view(r.Context(), d))
}
