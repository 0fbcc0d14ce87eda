package camsim

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/simulators/media"
)

// Edge storage (VAPIX Edge storage API; facts beyond vapix.md are listed as unverified in
// docs/camsim.md): every camera has an SD card (disk SD_DISK, parameter group Storage.S0)
// holding recordings, continuous (one per boot, interrupted by reboots) and
// event-triggered (while motion is active, or added through the control API). They are
// listed by /axis-cgi/record/list.cgi, the card by /axis-cgi/disks/list.cgi, and a
// recording plays over RTSP at media.amp?recordingid=<ID>. The control API removes,
// inserts and breaks the card. Recordings live in memory: a new camsim process starts
// with a new card history.

// Recording is one recording on the camera's SD card.
type Recording struct {
	ID           string    `json:"id"`
	DiskID       string    `json:"diskid"`
	Start        time.Time `json:"start"`
	Stop         time.Time `json:"stop,omitzero"` // zero while recording
	Type         string    `json:"type"`          // continuous, triggered or scheduled
	EventID      string    `json:"eventid"`
	EventTrigger string    `json:"eventtrigger"`
	Resolution   string    `json:"resolution"`
	FPS          int       `json:"fps"`
}

// SD card states as disks/list.cgi reports them.
const (
	DiskOK           = "OK"
	DiskDisconnected = "disconnected"
	DiskFailed       = "failed"
)

const (
	sdDiskID = "SD_DISK"
	// sdTotalKB is a 32 GB card as Linux counts it, in kB.
	sdTotalKB = 31154688
	// recordingKBps is what a second of recording takes (about 2 Mbit/s).
	recordingKBps = 250
	// recordedResolution and recordedFPS describe what playback serves (the live clip).
	recordedResolution = "640x360"
	recordedFPS        = 25
)

// sdCard is the camera's card and its recordings.
type sdCard struct {
	mu      sync.Mutex
	seeded  bool
	status  string
	recs    []Recording // in start order
	motion  string      // ID of the triggered recording motion keeps going, if any
	counter uint16      // the 4 hex digits of recording IDs
}

// seed gives a new card its history on first use: an older continuous recording that a
// restart interrupted and two motion recordings. Called with s.mu held.
func (c *Camera) seed(now time.Time) {
	s := &c.sd
	if s.seeded {
		return
	}
	s.seeded = true
	s.status = DiskOK
	now = now.UTC().Truncate(time.Second)
	s.recs = append(s.recs,
		c.newRecording(now.Add(-3*time.Hour), now.Add(-time.Hour), "continuous", "continuous", "continuous"),
		c.newRecording(now.Add(-50*time.Minute), now.Add(-50*time.Minute+12*time.Second), "triggered", "motion", "motion"),
		c.newRecording(now.Add(-20*time.Minute), now.Add(-20*time.Minute+8*time.Second), "triggered", "motion", "motion"),
	)
}

// newRecording makes a recording with an ID in the Axis form
// <yyyymmdd>_<hhmmss>_<4 hex>_<serial>. Called with c.sd.mu held.
func (c *Camera) newRecording(start, stop time.Time, typ, eventID, trigger string) Recording {
	c.sd.counter++
	start = start.UTC()
	return Recording{
		ID:     fmt.Sprintf("%s_%04X_%s", start.Format("20060102_150405"), c.sd.counter, c.id.Serial),
		DiskID: sdDiskID, Start: start, Stop: stop.UTC(), Type: typ, EventID: eventID, EventTrigger: trigger,
		Resolution: recordedResolution, FPS: recordedFPS,
	}
}

// storageBoot starts the boot's continuous recording.
func (c *Camera) storageBoot() {
	now := c.now()
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seed(now)
	if s.status == DiskOK {
		s.recs = append(s.recs, c.newRecording(now, time.Time{}, "continuous", "continuous", "continuous"))
	}
}

// storageHalt ends what is being recorded: the camera is going down.
func (c *Camera) storageHalt() {
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.stopRecordings(c.now())
}

// stopRecordings ends every ongoing recording at t. Called with c.sd.mu held.
func (c *Camera) stopRecordings(t time.Time) {
	for i := range c.sd.recs {
		if c.sd.recs[i].Stop.IsZero() {
			c.sd.recs[i].Stop = t.UTC()
		}
	}
	c.sd.motion = ""
}

// storageMotion records while motion is active, as an action rule "record video while
// motion is detected" does.
func (c *Camera) storageMotion(active bool) {
	now := c.now()
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seed(now)
	if s.status != DiskOK {
		return
	}
	switch {
	case active && s.motion == "":
		r := c.newRecording(now, time.Time{}, "triggered", "motion", "motion")
		s.recs = append(s.recs, r)
		s.motion = r.ID
	case !active && s.motion != "":
		for i := range s.recs {
			if s.recs[i].ID == s.motion {
				s.recs[i].Stop = now.UTC()
			}
		}
		s.motion = ""
	}
}

// ErrNoSDCard is AddRecording's error when the card is removed or has failed.
var ErrNoSDCard = errors.New("no usable SD card")

// AddRecording puts a finished recording of duration d, ending now, on the card:
// recordingType triggered (eventID motion unless given) or continuous.
func (c *Camera) AddRecording(recordingType, eventID string, d time.Duration) (Recording, error) {
	if d <= 0 || d > 24*time.Hour {
		return Recording{}, fmt.Errorf("duration %s: want more than 0 and at most 24h", d)
	}
	if recordingType != "triggered" && recordingType != "continuous" && recordingType != "scheduled" {
		return Recording{}, fmt.Errorf("recording type %q: want triggered, continuous or scheduled", recordingType)
	}
	if eventID == "" {
		eventID = map[string]string{"triggered": "motion", "continuous": "continuous", "scheduled": "schedule"}[recordingType]
	}
	now := c.now()
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seed(now)
	if s.status != DiskOK {
		return Recording{}, fmt.Errorf("%w: it is %s", ErrNoSDCard, s.status)
	}
	r := c.newRecording(now.Add(-d), now, recordingType, eventID, eventID)
	s.recs = append(s.recs, r)
	slices.SortStableFunc(s.recs, func(a, b Recording) int { return a.Start.Compare(b.Start) })
	return r, nil
}

// SDCard reports the card's status and, when it is readable, its recordings.
func (c *Camera) SDCard() (status string, recs []Recording) {
	now := c.now()
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seed(now)
	if s.status == DiskOK {
		recs = slices.Clone(s.recs)
	}
	return s.status, recs
}

// SetSDCard removes the card (DiskDisconnected), breaks it (DiskFailed) or puts it back
// (DiskOK). Ongoing recordings end when the card goes; a card put back holds what it
// held, and the camera starts recording continuously on it again.
func (c *Camera) SetSDCard(status string) error {
	if status != DiskOK && status != DiskDisconnected && status != DiskFailed {
		return fmt.Errorf("SD card status %q: want %s, %s or %s", status, DiskOK, DiskDisconnected, DiskFailed)
	}
	now := c.now()
	up := c.Up() // before the card's lock: boot holds the camera's lock, then takes the card's
	s := &c.sd
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seed(now)
	if s.status == status {
		return nil
	}
	if s.status == DiskOK {
		c.stopRecordings(now)
	}
	s.status = status
	if status == DiskOK && up {
		s.recs = append(s.recs, c.newRecording(now, time.Time{}, "continuous", "continuous", "continuous"))
	}
	return nil
}

// playbackRecording is what RTSP playback needs of a recording on a readable card.
func (c *Camera) playbackRecording(id string) (media.Recording, bool) {
	status, recs := c.SDCard()
	if status != DiskOK {
		return media.Recording{}, false
	}
	for _, r := range recs {
		if r.ID == id {
			stop := r.Stop
			if stop.IsZero() {
				stop = c.now()
			}
			return media.Recording{Duration: stop.Sub(r.Start)}, true
		}
	}
	return media.Recording{}, false
}

// recordQuery is a record/list.cgi request.
type recordQuery struct {
	entity      string // recording, eventid or source
	recordingID string // all or one ID
	diskID      string
	eventID     string
	source      string
	start, stop time.Time // zero: unbounded
	max         int       // -1: no limit
	first       int       // index of the first result returned
	ascending   bool
}

// parseRecordQuery reads record/list.cgi's arguments. A recording list needs recordingid,
// starttime or stoptime.
func parseRecordQuery(v url.Values) (recordQuery, error) {
	q := recordQuery{entity: "recording", max: -1}
	switch e := v.Get("listentity"); e {
	case "", "recording", "recordingid":
	case "eventid", "source":
		q.entity = e
	default:
		return q, fmt.Errorf("invalid listentity %q", e)
	}
	q.recordingID = v.Get("recordingid")
	q.diskID = v.Get("diskid")
	q.eventID = v.Get("eventid")
	q.source = v.Get("source")
	var err error
	if s := v.Get("starttime"); s != "" {
		if q.start, err = parseAxisTime(s); err != nil {
			return q, fmt.Errorf("invalid starttime: %w", err)
		}
	}
	if s := v.Get("stoptime"); s != "" {
		if q.stop, err = parseAxisTime(s); err != nil {
			return q, fmt.Errorf("invalid stoptime: %w", err)
		}
	}
	if q.entity == "recording" && q.recordingID == "" && v.Get("starttime") == "" && v.Get("stoptime") == "" {
		return q, errors.New("one of recordingid, starttime or stoptime is required")
	}
	if s := v.Get("maxnumberofresults"); s != "" {
		if q.max, err = strconv.Atoi(s); err != nil || q.max < 0 {
			return q, fmt.Errorf("invalid maxnumberofresults %q", s)
		}
	}
	if s := v.Get("startatresultnumber"); s != "" {
		if q.first, err = strconv.Atoi(s); err != nil || q.first < 0 {
			return q, fmt.Errorf("invalid startatresultnumber %q", s)
		}
	}
	switch s := v.Get("sortorder"); s {
	case "", "descending":
	case "ascending":
		q.ascending = true
	default:
		return q, fmt.Errorf("invalid sortorder %q", s)
	}
	return q, nil
}

// parseAxisTime reads the Recording API's UTC ISO 8601 times: with or without fractions
// of a second, Z or an offset.
func parseAxisTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a UTC ISO 8601 date and time", s)
}

// matches says whether the recording answers q's filters; ongoing recordings last until
// now.
func (q recordQuery) matches(r Recording, now time.Time) bool {
	stop := r.Stop
	if stop.IsZero() {
		stop = now
	}
	switch {
	case q.recordingID != "" && q.recordingID != "all" && q.recordingID != r.ID:
	case q.diskID != "" && q.diskID != "all" && q.diskID != r.DiskID:
	case q.eventID != "" && q.eventID != r.EventID:
	case q.source != "" && q.source != "1":
	case !q.start.IsZero() && stop.Before(q.start):
	case !q.stop.IsZero() && r.Start.After(q.stop):
	default:
		return true
	}
	return false
}

const (
	xsiNS          = "http://www.w3.org/2001/XMLSchema-instance"
	recordListXSD  = "http://www.axis.com/vapix/http_cgi/recording/list1.xsd"
	diskListXSD    = "http://www.axis.com/vapix/http_cgi/disk/list1.xsd"
	axisTimeLayout = "2006-01-02T15:04:05.000Z"
)

type xmlRecording struct {
	DiskID          string   `xml:"diskid,attr"`
	RecordingID     string   `xml:"recordingid,attr"`
	StartTime       string   `xml:"starttime,attr"`
	StartTimeLocal  string   `xml:"starttimelocal,attr"`
	StopTime        string   `xml:"stoptime,attr"`
	StopTimeLocal   string   `xml:"stoptimelocal,attr"`
	RecordingType   string   `xml:"recordingtype,attr"`
	EventID         string   `xml:"eventid,attr"`
	EventTrigger    string   `xml:"eventtrigger,attr"`
	RecordingStatus string   `xml:"recordingstatus,attr"`
	Source          string   `xml:"source,attr"`
	Video           xmlVideo `xml:"video"`
}

type xmlVideo struct {
	MimeType   string `xml:"mimetype,attr"`
	Source     string `xml:"source,attr"`
	FrameRate  string `xml:"framerate,attr"`
	Resolution string `xml:"resolution,attr"`
	Width      string `xml:"width,attr"`
	Height     string `xml:"height,attr"`
}

// localTime is the camera's local time in the Recording API's form; camsim's cameras
// keep UTC.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000+00:00")
}

func axisTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(axisTimeLayout)
}

// xmlRoot writes the XML document Axis edge storage CGIs answer with.
func xmlRoot(q *request, schema string, body any) {
	type root struct {
		XMLName xml.Name `xml:"root"`
		XSI     string   `xml:"xmlns:xsi,attr"`
		Schema  string   `xml:"xsi:noNamespaceSchemaLocation,attr"`
		Body    any
	}
	out, err := xml.MarshalIndent(root{XSI: xsiNS, Schema: schema, Body: body}, "", "  ")
	if err != nil {
		q.text(http.StatusInternalServerError, "Error: "+err.Error()+"\n")
		return
	}
	q.w.Header().Set("Content-Type", "text/xml")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write([]byte("<?xml version=\"1.0\" ?>\n"))
	_, _ = q.w.Write(out)
	_, _ = q.w.Write([]byte("\n"))
}

// handleRecordList answers /axis-cgi/record/list.cgi.
func (c *Camera) handleRecordList(q *request) {
	rq, err := parseRecordQuery(q.args())
	if err != nil {
		q.text(http.StatusBadRequest, "Error: "+err.Error()+"\n")
		return
	}
	now := c.now()
	status, recs := c.SDCard()
	if status != DiskOK {
		recs = nil // nothing of a missing or failed card can be read
	}
	if rq.diskID != "" && rq.diskID != "all" && rq.diskID != sdDiskID {
		recs = nil
	}
	var matched []Recording
	for _, r := range recs {
		if rq.matches(r, now) {
			matched = append(matched, r)
		}
	}
	switch rq.entity {
	case "eventid":
		type ids struct {
			XMLName xml.Name `xml:"eventids"`
			IDs     []string `xml:"eventid"`
		}
		var out ids
		for _, r := range matched {
			if !slices.Contains(out.IDs, r.EventID) {
				out.IDs = append(out.IDs, r.EventID)
			}
		}
		xmlRoot(q, recordListXSD, out)
		return
	case "source":
		type sources struct {
			XMLName xml.Name `xml:"sources"`
			Sources []string `xml:"source"`
		}
		out := sources{}
		if len(matched) > 0 {
			out.Sources = []string{"1"}
		}
		xmlRoot(q, recordListXSD, out)
		return
	}
	if !rq.ascending {
		slices.Reverse(matched)
	}
	page := matched[min(rq.first, len(matched)):]
	if rq.max >= 0 && len(page) > rq.max {
		page = page[:rq.max]
	}
	type recordings struct {
		XMLName xml.Name       `xml:"recordings"`
		Total   int            `xml:"totalnumberofrecordings,attr"`
		Matched int            `xml:"numberofrecordings,attr"`
		Recs    []xmlRecording `xml:"recording"`
	}
	out := recordings{Total: len(recs), Matched: len(matched)}
	for _, r := range page {
		w, h, _ := strings.Cut(r.Resolution, "x")
		state := "completed"
		if r.Stop.IsZero() {
			state = "recording"
		}
		out.Recs = append(out.Recs, xmlRecording{
			DiskID: r.DiskID, RecordingID: r.ID,
			StartTime: axisTime(r.Start), StartTimeLocal: localTime(r.Start),
			StopTime: axisTime(r.Stop), StopTimeLocal: localTime(r.Stop),
			RecordingType: r.Type, EventID: r.EventID, EventTrigger: r.EventTrigger, RecordingStatus: state,
			Source: "1",
			Video: xmlVideo{MimeType: "video/x-h264", Source: "1", FrameRate: strconv.Itoa(r.FPS) + ":1",
				Resolution: r.Resolution, Width: w, Height: h},
		})
	}
	xmlRoot(q, recordListXSD, out)
}

// handleDiskList answers /axis-cgi/disks/list.cgi: the SD card, whatever its state (a
// removed card is listed as disconnected).
func (c *Camera) handleDiskList(q *request) {
	ids := q.args().Get("diskid")
	if ids == "" {
		ids = "all"
	}
	status, recs := c.SDCard()
	type disk struct {
		DiskID             string `xml:"diskid,attr"`
		Name               string `xml:"name,attr"`
		TotalSize          int64  `xml:"totalsize,attr"`
		FreeSize           int64  `xml:"freesize,attr"`
		CleanupLevel       string `xml:"cleanuplevel,attr"`
		CleanupMaxAge      string `xml:"cleanupmaxage,attr"`
		CleanupPolicy      string `xml:"cleanuppolicy,attr"`
		Locked             string `xml:"locked,attr"`
		Full               string `xml:"full,attr"`
		ReadOnly           string `xml:"readonly,attr"`
		FileSystem         string `xml:"filesystem,attr"`
		Status             string `xml:"status,attr"`
		Group              string `xml:"group,attr"`
		RequiredFileSystem string `xml:"requiredfilesystem,attr"`
		EncryptionEnabled  string `xml:"diskencryptionenabled,attr"`
		Encrypted          string `xml:"diskencrypted,attr"`
	}
	type disks struct {
		XMLName xml.Name `xml:"disks"`
		Number  int      `xml:"numberofdisks,attr"`
		Disks   []disk   `xml:"disk"`
	}
	var out disks
	if ids == "all" || slices.Contains(strings.Split(ids, ","), sdDiskID) {
		var name, maxAge, policy string
		c.view(func(st *State) {
			name = setting(st, "Storage.S0.FriendlyName", "")
			maxAge = setting(st, "Storage.S0.CleanupMaxAge", "7")
			policy = setting(st, "Storage.S0.CleanupPolicyActive", "fifo")
		})
		d := disk{DiskID: sdDiskID, Name: name, CleanupLevel: "90", CleanupMaxAge: maxAge, CleanupPolicy: policy,
			Locked: "no", Full: "no", ReadOnly: "no", FileSystem: "ext4", Status: status, Group: "S0",
			RequiredFileSystem: "none", EncryptionEnabled: "false", Encrypted: "false"}
		if status == DiskOK {
			d.TotalSize = sdTotalKB
			used := int64(0)
			now := c.now()
			for _, r := range recs {
				stop := r.Stop
				if stop.IsZero() {
					stop = now
				}
				used += int64(stop.Sub(r.Start).Seconds()) * recordingKBps
			}
			d.FreeSize = max(sdTotalKB-used, 0)
			d.Full = yesNoOf(d.FreeSize == 0)
		}
		out.Disks = append(out.Disks, d)
	}
	out.Number = len(out.Disks)
	xmlRoot(q, diskListXSD, out)
}
