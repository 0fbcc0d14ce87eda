package fleet

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// fakeCam answers what poll asks, without authentication (the Digest transport passes
// answers that are not 401 through): an AXIS OS 12.11 camera whose application list and
// system log the test gives, on which any account can be made. camsim lists no bundled applications; real 12.x cameras do.
func fakeCam(t *testing.T, listApps func(w http.ResponseWriter), syslog func() string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/axis-cgi/basicdeviceinfo.cgi", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "1.3", "data": map[string]any{"propertyList": map[string]string{
			"SerialNumber": "B8A44F631339", "ProdNbr": "P3265-V", "Version": "12.11.77"}}})
	})
	mux.HandleFunc("/axis-cgi/applications/list.cgi", func(w http.ResponseWriter, r *http.Request) { listApps(w) })
	mux.HandleFunc("/axis-cgi/systemlog.cgi", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, syslog()) })
	mux.HandleFunc("/axis-cgi/param.cgi", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "Image.I0.Appearance.Resolution=1920x1080\n")
	})
	// Enough of the accounts for a take-over: any account is made, and is the agent's.
	mux.HandleFunc("/axis-cgi/pwdgrp.cgi", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "OK\n") })
	mux.HandleFunc("/axis-cgi/usergroup.cgi", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "camcloud\nadmin operator viewer\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// rec1211Apps is list.cgi on AXIS OS 12.11 as recorded (vapix.md 8.1): vmd comes with
// the OS.
const rec1211Apps = `<reply result="ok">
 <application Name="vmd" NiceName="AXIS Video Motion Detection" Vendor="Axis Communications" Version="4.4-5" ApplicationID="143440" License="None" Status="Running" ConfigurationPage="local/vmd/config.html" VendorHomePage="http://www.axis.com" LicenseName="Proprietary" Bundled="Yes" SignatureStatus="Signed"><Resources><Resource name="DeepLearningProcessor" used="No" /></Resources></application>
</reply>`

// listing answers list.cgi with text.
func listing(text string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { _, _ = io.WriteString(w, text) }
}

// noLog is an empty system log.
func noLog() string { return "" }

// manageFake stores the fake camera as a managed device with profile p.
func manageFake(t *testing.T, srv *httptest.Server, p profile.Profile, since time.Time) (*Manager, string) {
	t.Helper()
	m, st := startManager(t, Config{Timeout: 2 * time.Second})
	const serial = "B8A44F631339"
	if err := st.PutDevice(devstore.Device{Serial: serial, Address: strings.TrimPrefix(srv.URL, "http://"), User: "camcloud",
		Mode: ModeManaged, Profile: p, ManagedSince: since}, "agent-pass"); err != nil {
		t.Fatal(err)
	}
	return m, serial
}

// An application bundled with AXIS OS is part of the OS, not "an application outside
// the profile": the built-in default profile (no applications) does not make every
// AXIS OS 12 camera drift, nor ask for the bundled application's removal.
func TestBundledAppIsNotDrift(t *testing.T) {
	srv := fakeCam(t, listing(rec1211Apps), noLog)
	m, serial := manageFake(t, srv, profile.Profile{Name: "default", Default: true}, time.Now())
	rep, _ := m.PollDevice(context.Background(), serial)
	if !rep.Reachable || len(rep.Apps) != 1 || !rep.Apps[0].Bundled {
		t.Fatalf("reachable %v, apps %+v: want vmd, bundled", rep.Reachable, rep.Apps)
	}
	if len(rep.Drift) != 0 {
		t.Errorf("drift on a camera as shipped: %+v", rep.Drift)
	}
	for _, c := range rep.Diff {
		if c.Kind == "app-remove" {
			t.Errorf("profile difference asks to remove a bundled app: %v", c)
		}
	}
}

// An application list that could not be read (list.cgi failing once) does not report
// the profile's applications as missing, which profile enforcement would turn into
// install tasks: the report names the part unread, and the parts read are compared.
func TestFailedAppListIsNotADifference(t *testing.T) {
	srv := fakeCam(t, func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusInternalServerError) }, noLog)
	p := profile.Profile{Name: "p", Apps: []profile.App{{Name: "vmd", Running: true}},
		Params: map[string]string{"Image.I0.Appearance.Resolution": "1280x720"}}
	m, serial := manageFake(t, srv, p, time.Now())
	rep, _ := m.PollDevice(context.Background(), serial)
	if !rep.Reachable || !slices.Equal(rep.Unread, []string{profile.PartApps}) {
		t.Fatalf("reachable %v, unread %v: want the applications unread", rep.Reachable, rep.Unread)
	}
	if len(rep.Diff) != 1 || rep.Diff[0].Kind != "param" {
		t.Errorf("differences %v although the application list could not be read: want the parameter's only", rep.Diff)
	}
}

// The take-over's own admin session, logged by a camera whose clock runs ahead of the
// agent's, is not a local admin login; one after the take-over still is.
func TestTakeOverSessionWithCameraClockAheadIsNotDrift(t *testing.T) {
	const ahead = 2 * time.Second
	var mu sync.Mutex
	var lines []string
	login := func(at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, at.Add(ahead).Format("2006-01-02T15:04:05.000-07:00")+
			" axis-b8a44f631339 [ INFO ] httpd[312]: session opened for user root (admin) from 10.0.0.2")
	}
	srv := fakeCam(t, listing(`<reply result="ok"></reply>`), func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n") + "\n"
	})
	m, st := startManager(t, Config{Timeout: 2 * time.Second})
	admin, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.CloseIdleConnections()
	login(time.Now()) // the take-over's admin session, in the camera's time
	const serial = "B8A44F631339"
	rec := devstore.Device{Serial: serial, Address: strings.TrimPrefix(srv.URL, "http://"), User: "camcloud", Mode: ModeManaged, Profile: defaultProfile}
	if _, err := TakeOver(context.Background(), st, admin, rec, 2*time.Second, time.Now); err != nil {
		t.Fatal(err)
	}
	rep, _ := m.PollDevice(context.Background(), serial)
	if !rep.Reachable || len(rep.Drift) != 0 {
		t.Fatalf("reachable %v, drift %+v: the take-over's own admin session is drift", rep.Reachable, rep.Drift)
	}
	login(time.Now().Add(10 * time.Millisecond)) // after the take-over, also at the log's millisecond resolution
	if rep, _ := m.PollDevice(context.Background(), serial); len(rep.Drift) != 1 || rep.Drift[0].Cause != profile.DriftLocalAdminUsed {
		t.Errorf("an admin login after the take-over: drift %+v", rep.Drift)
	}
}
