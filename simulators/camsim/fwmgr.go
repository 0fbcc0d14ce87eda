package camsim

import (
	"bufio"
	"encoding/json"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
)

// firmwaremanagement.cgi (vapix.md section 6). Errors answer HTTP 200 with the fwmgr
// family's codes. An upgrade is a multipart request: the JSON request first, then the
// image, told apart by order and content type (part names vary between clients).

type upgradeParams struct {
	FactoryDefaultMode string `json:"factoryDefaultMode"`
	AutoCommit         string `json:"autoCommit"`
	AutoRollback       string `json:"autoRollback"`
}

func (c *Camera) handleFirmwareManagement(q *request) {
	api := apiFirmware
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		c.firmwareUpgrade(q)
		return
	}
	req, ok := q.readJSON(api)
	if !ok {
		return
	}
	switch req.Method {
	case "getSupportedVersions":
		q.supportedVersions(api, req)
	case "status":
		q.jsonData(api, req, c.firmwareStatus())
	case "upgrade":
		q.jsonError(api, req, 400, "Upgrade requires a multipart request with the firmware image")
	case "commit":
		_ = c.update(func(st *State) error {
			st.Firmware.Committed = true
			st.Firmware.RollbackAt = time.Time{}
			return nil
		})
		q.jsonData(api, req, struct{}{})
	case "stopAuto":
		_ = c.update(func(st *State) error {
			st.Firmware.RollbackAt = time.Time{}
			return nil
		})
		q.jsonData(api, req, struct{}{})
	case "purge":
		var code int
		_ = c.update(func(st *State) error {
			if !st.Firmware.Committed {
				code = 412
				return errParamRejected
			}
			st.Firmware.Inactive = ""
			return nil
		})
		if code != 0 {
			q.jsonError(api, req, code, "Firmware not committed")
			return
		}
		q.jsonData(api, req, struct{}{})
	case "rollback":
		var code int
		_ = c.update(func(st *State) error {
			switch {
			case st.Firmware.Inactive == "":
				code = 400
			case st.Firmware.Pending != nil:
				code = 423
			default:
				st.Firmware.Pending = &PendingFirmware{Rollback: true, BuildDate: st.Firmware.BuildDate}
				return nil
			}
			return errParamRejected
		})
		switch code {
		case 400:
			q.jsonError(api, req, 400, "No rollback image available")
		case 423:
			q.jsonError(api, req, 423, "Device busy")
		default:
			q.jsonData(api, req, struct{}{})
			c.Reboot()
		}
	case "factoryDefault":
		var p struct {
			FactoryDefaultMode string `json:"factoryDefaultMode"`
		}
		if !q.params(api, req, &p) {
			return
		}
		if p.FactoryDefaultMode != "soft" && p.FactoryDefaultMode != "hard" {
			q.jsonError(api, req, 400, "Invalid factoryDefaultMode")
			return
		}
		_ = c.update(func(st *State) error {
			c.factoryDefaultLocked(st)
			return nil
		})
		q.jsonData(api, req, struct{}{})
		c.Reboot()
	case "reboot":
		q.jsonData(api, req, struct{}{})
		c.Reboot()
	default:
		q.jsonError(api, req, api.badMethod, "Unknown method in request.")
	}
}

// firmwareStatus lists only the fields that apply, with the device's "isCommited" spelling.
func (c *Camera) firmwareStatus() map[string]any {
	var fw FirmwareState
	c.view(func(st *State) { fw = st.Firmware })
	data := map[string]any{
		"activeFirmwareVersion": fw.Version,
		"activeFirmwarePart":    fw.Part,
		"resetSource":           fw.ResetSource,
	}
	if fw.Inactive != "" {
		data["inactiveFirmwareVersion"] = fw.Inactive
		data["isCommited"] = fw.Committed
		if !fw.LastUpgradeAt.IsZero() {
			data["lastUpgradeAt"] = fw.LastUpgradeAt.UTC().Format(time.RFC3339)
		}
	}
	if !fw.Committed && !fw.RollbackAt.IsZero() {
		data["pendingCommit"] = "started"
		data["timeToRollback"] = max(0, int(time.Until(fw.RollbackAt).Seconds()))
	}
	return data
}

// firmwareUpgrade streams the image through: it is read once, never held in memory.
func (c *Camera) firmwareUpgrade(q *request) {
	api := apiFirmware
	mr, err := q.r.MultipartReader()
	if err != nil {
		q.jsonError(api, jsonRequest{}, 400, "Bad request")
		return
	}
	part, err := mr.NextPart()
	if err != nil {
		q.jsonError(api, jsonRequest{}, 400, "Bad request")
		return
	}
	var req jsonRequest
	dec := json.NewDecoder(io.LimitReader(part, 64<<10))
	if err := dec.Decode(&req); err != nil {
		q.jsonError(api, req, 400, "Bad request")
		return
	}
	major, _, _ := strings.Cut(req.APIVersion, ".")
	if major != "1" {
		q.jsonError(api, req, 417, "The requested API version is not supported")
		return
	}
	if req.Method != "upgrade" {
		q.jsonError(api, req, 405, "Unknown method in request.")
		return
	}
	p := upgradeParams{FactoryDefaultMode: "none", AutoCommit: "default", AutoRollback: "default"}
	if !q.params(api, req, &p) {
		return
	}
	rollbackMin, ok := parseUpgradeParams(p)
	if !ok {
		q.jsonError(api, req, 400, "Invalid parameter")
		return
	}

	part, err = mr.NextPart()
	if err != nil {
		q.jsonError(api, req, 415, "Missing firmware image")
		return
	}
	// An upload counts once the whole image arrived, whatever the camera then makes of it:
	// a transfer cut short is not an image the camera received.
	image := &eofReader{r: part}
	defer func() {
		if image.eof {
			c.counters.firmwareUploads.Add(1)
		}
	}()

	// Validation errors come before installation (vapix.md 6).
	var fw FirmwareState
	busy := false
	c.mu.Lock()
	fw = c.st.Firmware
	busy = c.upgrading || c.rebooting || fw.Pending != nil
	if !busy {
		c.upgrading = true
	}
	c.mu.Unlock()
	if busy {
		_, _ = io.Copy(io.Discard, image)
		q.jsonError(api, req, 423, "Device busy")
		return
	}
	defer func() {
		c.mu.Lock()
		c.upgrading = false
		c.mu.Unlock()
	}()
	if !fw.Committed && fw.Inactive != "" {
		_, _ = io.Copy(io.Discard, image)
		q.jsonError(api, req, 412, "Previous upgrade not committed")
		return
	}
	br := bufio.NewReaderSize(image, 64<<10)
	hdr, err := ParseFirmwareHeader(br)
	if err != nil {
		_, _ = io.Copy(io.Discard, br)
		q.jsonError(api, req, 415, "Invalid firmware image")
		return
	}
	if !hdr.Fits(c.id.Model.ProdNbr) {
		_, _ = io.Copy(io.Discard, br)
		q.jsonError(api, req, 421, "Firmware image does not match the device")
		return
	}
	if isMajorDowngrade(hdr.Version, fw.Version) && p.FactoryDefaultMode == "none" {
		_, _ = io.Copy(io.Discard, br)
		q.jsonError(api, req, 409, "Downgrade requires factory default")
		return
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		// The client went away mid-upload: nothing is installed.
		q.jsonError(api, req, 400, "Incomplete firmware image")
		return
	}
	if chance(c.faults.get().UpgradeFailRate) {
		q.jsonError(api, req, 500, "Internal error")
		return
	}
	build := hdr.BuildDate
	if build == "" {
		build = time.Now().UTC().Format("Jan 02 2006 15:04")
	}
	err = c.update(func(st *State) error {
		st.Firmware.Pending = &PendingFirmware{
			Version:             hdr.Version,
			BuildDate:           build,
			FactoryDefaultMode:  p.FactoryDefaultMode,
			AutoCommit:          p.AutoCommit,
			AutoRollbackMinutes: rollbackMin,
		}
		return nil
	})
	if err != nil {
		q.jsonError(api, req, 500, "Internal error")
		return
	}
	q.jsonData(api, req, map[string]string{"firmwareVersion": hdr.Version})
	c.Reboot()
}

func parseUpgradeParams(p upgradeParams) (rollbackMin int, ok bool) {
	switch p.FactoryDefaultMode {
	case "none", "soft", "hard":
	default:
		return 0, false
	}
	switch p.AutoCommit {
	case "never", "boot", "started", "default":
	default:
		return 0, false
	}
	switch p.AutoRollback {
	case "never", "default":
		return 0, true
	}
	n, err := strconv.Atoi(p.AutoRollback)
	if err != nil || n <= 0 || n > 24*60 {
		return 0, false
	}
	return n, true
}

// isMajorDowngrade: going to an older major version loses settings the old firmware
// cannot read, which Axis refuses unless the settings are reset (error 409).
func isMajorDowngrade(to, from string) bool {
	tm, _, _ := strings.Cut(to, ".")
	fm, _, _ := strings.Cut(from, ".")
	return compareVersions(tm, fm) < 0
}

// eofReader notes whether its reader was read to the end.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}
