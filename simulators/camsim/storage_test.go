package camsim_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

type recordList struct {
	Recordings struct {
		Total   int `xml:"totalnumberofrecordings,attr"`
		Matched int `xml:"numberofrecordings,attr"`
		Recs    []struct {
			DiskID  string `xml:"diskid,attr"`
			ID      string `xml:"recordingid,attr"`
			Start   string `xml:"starttime,attr"`
			Stop    string `xml:"stoptime,attr"`
			Type    string `xml:"recordingtype,attr"`
			EventID string `xml:"eventid,attr"`
			Status  string `xml:"recordingstatus,attr"`
			Video   struct {
				Framerate string `xml:"framerate,attr"`
			} `xml:"video"`
		} `xml:"recording"`
	} `xml:"recordings"`
	EventIDs []string `xml:"eventids>eventid"`
}

type diskList struct {
	Disks struct {
		Number int `xml:"numberofdisks,attr"`
		Disk   []struct {
			ID     string `xml:"diskid,attr"`
			Status string `xml:"status,attr"`
			Total  int64  `xml:"totalsize,attr"`
			Free   int64  `xml:"freesize,attr"`
			Group  string `xml:"group,attr"`
		} `xml:"disk"`
	} `xml:"disks"`
}

// cgiXML gets a CGI as root and decodes its XML answer into v; it returns the status.
func cgiXML(t *testing.T, c *camsim.Camera, path string, v any) int {
	t.Helper()
	res, err := digestClient(camsimtest.User, camsimtest.Password).Get(c.Info().HTTP + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		if ct := res.Header.Get("Content-Type"); ct != "text/xml" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if err := xml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return res.StatusCode
}

// control sends a control API request and decodes a JSON answer into v (if not nil).
func control(t *testing.T, base, method, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

// playbackURL is the RTSP URL that plays a recording, as Axis devices serve it.
func playbackURL(c *camsim.Camera, id string) string {
	u := strings.Replace(c.Info().RTSP, "rtsp://", "rtsp://"+camsimtest.User+":"+camsimtest.Password+"@", 1)
	return u + "?recordingid=" + url.QueryEscape(id)
}

// An SD-card recording plays over RTSP by its recording ID: ffprobe reads its duration
// from the stream, and reading the whole stream ends after that duration with the
// recording's frames.
func TestSDCardRecordingPlaysOverRTSP(t *testing.T) {
	ffprobe := testtool.Require(t, "ffprobe")
	fleet := camsimtest.Start(t, 1)
	cam := fleet.Cameras()[0]
	ctl := httptest.NewServer(fleet.ControlHandler())
	defer ctl.Close()

	var rec camsim.Recording
	if s := control(t, ctl.URL, http.MethodPost, "/cameras/"+cam.Info().Serial+"/recordings?duration=3s&type=triggered", &rec); s != http.StatusCreated {
		t.Fatalf("adding a recording: %d", s)
	}
	var list recordList
	if s := cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid="+rec.ID, &list); s != http.StatusOK || len(list.Recordings.Recs) != 1 {
		t.Fatalf("record/list.cgi for %s: %d %+v", rec.ID, s, list)
	}
	got := list.Recordings.Recs[0]
	start, _ := time.Parse(time.RFC3339, got.Start)
	stop, _ := time.Parse(time.RFC3339, got.Stop)
	if stop.Sub(start) != 3*time.Second || got.Status != "completed" || got.Type != "triggered" || got.DiskID != "SD_DISK" {
		t.Fatalf("listed %+v", got)
	}

	out, err := exec.Command(ffprobe, "-v", "error", "-rw_timeout", "10000000", "-rtsp_transport", "tcp",
		"-show_entries", "format=duration:stream=codec_name", "-of", "default=nw=1", playbackURL(cam, rec.ID)).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "codec_name=h264") || !strings.Contains(string(out), "duration=3.000") {
		t.Fatalf("ffprobe reads:\n%s\nwant H.264 lasting 3.000 s", out)
	}

	// Read to the end: the stream ends by itself after 3 s of video.
	began := time.Now()
	out, err = exec.Command(ffprobe, "-v", "error", "-rw_timeout", "10000000", "-rtsp_transport", "tcp", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1", playbackURL(cam, rec.ID)).CombinedOutput()
	took := time.Since(began)
	if err != nil {
		t.Fatalf("ffprobe -count_frames: %v\n%s", err, out)
	}
	frames, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || frames < 70 || frames > 75 {
		t.Fatalf("played %q frames, want the 75 of 3 s at 25 fps", out)
	}
	if took < 2500*time.Millisecond || took > 8*time.Second {
		t.Fatalf("playing 3 s took %s: it must play in real time and then end", took)
	}
	t.Logf("played %d frames in %s", frames, took.Round(time.Millisecond))

	if out, err := exec.Command(ffprobe, "-v", "error", "-rw_timeout", "10000000", "-rtsp_transport", "tcp",
		playbackURL(cam, "20200101_000000_0001_"+cam.Info().Serial)).CombinedOutput(); err == nil || !strings.Contains(string(out), "404") {
		t.Fatalf("an unknown recording played: %v\n%s", err, out)
	}
}

// record/list.cgi filters, sorts and pages; motion records while it lasts; removing or
// breaking the card through the control API shows in disks/list.cgi and takes the
// recordings away, and putting it back returns them.
func TestSDCardListsAndFails(t *testing.T) {
	fleet := camsimtest.Start(t, 1)
	cam := fleet.Cameras()[0]
	ctl := httptest.NewServer(fleet.ControlHandler())
	defer ctl.Close()
	serial := cam.Info().Serial

	var all recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid=all", &all)
	recs := all.Recordings.Recs
	// Out of the box: an older continuous recording, two motion recordings, and the
	// continuous recording of this boot, newest first.
	if all.Recordings.Total != 4 || all.Recordings.Matched != 4 || len(recs) != 4 || recs[0].Type != "continuous" ||
		recs[0].Status != "recording" || recs[0].Stop != "" || recs[1].EventID != "motion" || recs[3].Status != "completed" {
		t.Fatalf("recordings out of the box: %+v", all.Recordings)
	}
	for _, r := range recs {
		if !strings.HasSuffix(r.ID, "_"+serial) || r.Video.Framerate != "25:1" {
			t.Errorf("recording %+v", r)
		}
	}
	var page recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid=all&sortorder=ascending&startatresultnumber=1&maxnumberofresults=2", &page)
	if p := page.Recordings; p.Matched != 4 || len(p.Recs) != 2 || p.Recs[0].ID != recs[2].ID || p.Recs[1].ID != recs[1].ID {
		t.Errorf("page 2 of 2 ascending: %+v", p)
	}
	var motion recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?eventid=motion&starttime="+url.QueryEscape(recs[2].Start), &motion)
	if m := motion.Recordings; m.Matched != 2 || m.Total != 4 {
		t.Errorf("motion recordings from %s: %+v", recs[2].Start, m)
	}
	var ids recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?listentity=eventid&diskid=SD_DISK", &ids)
	if strings.Join(ids.EventIDs, ",") != "continuous,motion" {
		t.Errorf("event IDs %v", ids.EventIDs)
	}
	for _, bad := range []string{"", "?listentity=recording", "?recordingid=all&starttime=yesterday", "?recordingid=all&sortorder=up"} {
		if s := cgiXML(t, cam, "/axis-cgi/record/list.cgi"+bad, &recordList{}); s != http.StatusBadRequest {
			t.Errorf("record/list.cgi%s answered %d, want 400", bad, s)
		}
	}

	cam.TriggerMotion(true)
	var during recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid=all&eventid=motion", &during)
	if r := during.Recordings.Recs; len(r) != 3 || r[0].Status != "recording" {
		t.Fatalf("while motion lasts: %+v", during.Recordings)
	}
	cam.TriggerMotion(false)
	var after recordList
	cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid=all&eventid=motion", &after)
	if r := after.Recordings.Recs; len(r) != 3 || r[0].Status != "completed" || r[0].ID != during.Recordings.Recs[0].ID {
		t.Fatalf("after motion: %+v", after.Recordings)
	}

	disk := func() (string, int64, int) {
		var d diskList
		if s := cgiXML(t, cam, "/axis-cgi/disks/list.cgi?diskid=all", &d); s != http.StatusOK || d.Disks.Number != 1 || d.Disks.Disk[0].ID != "SD_DISK" || d.Disks.Disk[0].Group != "S0" {
			t.Fatalf("disks/list.cgi: %d %+v", s, d)
		}
		var l recordList
		cgiXML(t, cam, "/axis-cgi/record/list.cgi?recordingid=all", &l)
		return d.Disks.Disk[0].Status, d.Disks.Disk[0].Free, len(l.Recordings.Recs)
	}
	if status, free, n := disk(); status != "OK" || free <= 0 || free >= 31154688 || n != 5 {
		t.Fatalf("card: %s, %d kB free, %d recordings", status, free, n)
	}
	for _, step := range []struct {
		action, status string
		recordings     int
	}{
		{"remove", "disconnected", 0},
		{"insert", "OK", 6}, // what it held, and a new continuous recording
		{"fail", "failed", 0},
	} {
		if s := control(t, ctl.URL, http.MethodPost, "/cameras/"+serial+"/sdcard/"+step.action, nil); s != http.StatusNoContent {
			t.Fatalf("%s: %d", step.action, s)
		}
		if status, _, n := disk(); status != step.status || n != step.recordings {
			t.Errorf("after %s: card %s with %d recordings, want %s with %d", step.action, status, n, step.status, step.recordings)
		}
	}
	if s := control(t, ctl.URL, http.MethodPost, "/cameras/"+serial+"/recordings?duration=2s", nil); s != http.StatusConflict {
		t.Errorf("recording onto a failed card: %d, want 409", s)
	}
	var sd camsim.SDCardStatus
	if s := control(t, ctl.URL, http.MethodGet, "/cameras/"+serial+"/sdcard", &sd); s != http.StatusOK || sd.Status != "failed" || len(sd.Recordings) != 0 {
		t.Errorf("control API card: %d %+v", s, sd)
	}
}
