package profile

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTrackOf(t *testing.T) {
	for v, want := range map[string]string{
		"12.11.77": TrackActive, "13.2.1": TrackActive, "11.11.124": "lts-2024", "10.12.250": "lts-2022",
		"9.80.3": "lts-2020", "11.8.61": "", "10.9.4": "", "garbage": "", "": "",
	} {
		if got := TrackOf(v); got != want {
			t.Errorf("TrackOf(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Profile{Name: "lts-fleet", OSTrack: "lts-2024", OSVersion: "11.11.124",
		Apps:   []App{{Name: "AxisExampleApp", Version: "1.2.0", Running: true}},
		Params: map[string]string{"Image.I0.Appearance.Resolution": "1920x1080"}, Overlay: "Lobby %D %T"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Profile{Name: "Bad Name", OSTrack: "beta", OSVersion: "x",
		Apps:   []App{{Name: "a b"}, {Name: "ok", Version: "v1"}, {Name: "ok"}},
		Params: map[string]string{"notdotted": "1", "Image.I0.Name": "two\nlines"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad profile accepted")
	}
	for _, want := range []string{"name", "osTrack", "osVersion", `app "a b"`, "app ok version", `app "ok" listed twice`, `param "notdotted"`, "Image.I0.Name: value"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if err := (Profile{Name: "p", OSTrack: "lts-2024", OSVersion: "12.11.77"}).Validate(); err == nil {
		t.Error("a version off the profile's own track was accepted")
	}
}

func TestDiff(t *testing.T) {
	p := Profile{Name: "p", OSVersion: "11.11.124",
		Apps:    []App{{Name: "Want", Version: "2.0.0", Running: true}, {Name: "Missing", Running: true}, {Name: "Stopped"}},
		Params:  map[string]string{"root.Image.I0.Name": "Lobby", "Image.I0.Appearance.Resolution": "1920x1080"},
		Overlay: "Lobby"}
	s := State{OSVersion: "11.11.100",
		Apps:   []InstalledApp{{Name: "Want", Version: "1.0.0"}, {Name: "Stopped", Version: "1", Running: true}, {Name: "Extra", Version: "3"}},
		Params: map[string]string{"Image.I0.Name": "Lobby", "Image.I0.Appearance.Resolution": "1280x720"}}
	var got []string
	for _, c := range Diff(p, s) {
		got = append(got, c.String())
	}
	want := []string{
		`os: "11.11.100" -> "11.11.124"`,
		`app-upgrade Want: "1.0.0" -> "2.0.0"`, "app-start Want",
		"app-install Missing", "app-stop Stopped",
		`app-remove Extra: "3" -> ""`,
		`param Image.I0.Appearance.Resolution: "1280x720" -> "1920x1080"`,
		`overlay: "" -> "Lobby"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s = State{OSVersion: "11.11.124", Apps: []InstalledApp{{Name: "Want", Version: "2.0.0", Running: true}, {Name: "Missing", Running: true}, {Name: "Stopped"}},
		Params: map[string]string{"Image.I0.Name": "Lobby", "Image.I0.Appearance.Resolution": "1920x1080"}, Overlays: []string{"Lobby"}}
	if d := Diff(p, s); len(d) != 0 {
		t.Fatalf("a device matching its profile differs: %v", d)
	}
}

func TestDriftOf(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	p := Profile{Name: "p", OSTrack: "lts-2024", Apps: []App{{Name: "Allowed"}}}
	for name, tc := range map[string]struct {
		s     State
		cause string
	}{
		"in profile":       {State{OSVersion: "11.11.124", Apps: []InstalledApp{{Name: "Allowed"}}}, ""},
		"other track":      {State{OSVersion: "12.11.77"}, DriftOSOffTrack},
		"off every track":  {State{OSVersion: "11.8.61"}, DriftOSOffTrack},
		"app outside":      {State{OSVersion: "11.11.124", Apps: []InstalledApp{{Name: "Rogue", Version: "1.0"}}}, DriftUnexpectedApp},
		"local admin used": {State{OSVersion: "11.11.124", Logins: []Login{{User: "root", From: "10.0.0.9", At: at}}}, DriftLocalAdminUsed},
	} {
		d := DriftOf(p, tc.s)
		switch {
		case tc.cause == "" && len(d) != 0:
			t.Errorf("%s: drift %v", name, d)
		case tc.cause != "" && (len(d) != 1 || d[0].Cause != tc.cause || d[0].Detail == ""):
			t.Errorf("%s: drift %v, want one %s", name, d, tc.cause)
		}
	}
	if d := DriftOf(Profile{Name: "any"}, State{OSVersion: "10.12.250"}); len(d) != 0 {
		t.Errorf("an LTS version drifts from a profile without a track: %v", d)
	}
}

// An application bundled with AXIS OS (vmd on 12.x) is part of the OS: not drift, not a
// difference to remove; one the profile lists is still checked like any other.
func TestBundledApps(t *testing.T) {
	vmd := InstalledApp{Name: "vmd", Version: "4.4-5", Bundled: true}
	s := State{OSVersion: "12.11.77", Apps: []InstalledApp{vmd}}
	if d := DriftOf(Profile{Name: "default", Default: true}, s); len(d) != 0 {
		t.Errorf("drift on a camera as shipped: %v", d)
	}
	if d := Diff(Profile{Name: "default"}, s); len(d) != 0 {
		t.Errorf("differences on a camera as shipped: %v", d)
	}
	want := Profile{Name: "motion", Apps: []App{{Name: "vmd", Running: true}}}
	if d := Diff(want, s); len(d) != 1 || d[0].String() != "app-start vmd" {
		t.Errorf("a bundled app the profile wants running: %v", d)
	}
}

// A part of the state that could not be read is not compared with the profile as if it
// were empty: no application to install, no parameter to set, no drift from it.
func TestUnreadPartsSayNothing(t *testing.T) {
	p := Profile{Name: "p", OSVersion: "12.11.77", Apps: []App{{Name: "vmd", Running: true}},
		Params: map[string]string{"Image.I0.Name": "Lobby"}, Overlay: "Lobby"}
	s := State{OSVersion: "12.9.1", Logins: []Login{{User: "root", From: "10.0.0.9"}},
		Unread: []string{PartApps, PartParams, PartOverlays, PartLog}}
	if d := Diff(p, s); len(d) != 1 || d[0].Kind != "os" {
		t.Errorf("differences of a device whose parts could not be read: %v", d)
	}
	s.Apps = []InstalledApp{{Name: "rogue"}}
	if d := DriftOf(p, s); len(d) != 0 {
		t.Errorf("drift from parts that could not be read: %v", d)
	}
	s.Unread = []string{PartParams}
	if d := Diff(p, s); len(d) != 4 || d[1].Part() != PartApps || d[3].Part() != PartOverlays {
		t.Errorf("the parts read are still compared: %v", d)
	}
}

// What a report that could not read a part says is merged with what was known: the
// last known entries of that part stand, the others are the report's.
func TestKeepUnread(t *testing.T) {
	last := []Change{{Kind: "os", Want: "12.11.77"}, {Kind: "app-install", Target: "vmd"}, {Kind: "param", Target: "A.B", Want: "1"}}
	report := []Change{{Kind: "param", Target: "A.B", Want: "2"}}
	if got := KeepUnread(last, report, nil); !slices.Equal(got, report) {
		t.Errorf("a complete report: %v", got)
	}
	got := KeepUnread(last, report, []string{PartApps})
	if want := []Change{{Kind: "param", Target: "A.B", Want: "2"}, {Kind: "app-install", Target: "vmd"}}; !slices.Equal(got, want) {
		t.Errorf("apps unread: %v, want %v", got, want)
	}
	drift := KeepUnread([]Drift{{Cause: DriftLocalAdminUsed}, {Cause: DriftUnexpectedApp}}, []Drift{{Cause: DriftOSOffTrack}}, []string{PartLog})
	if len(drift) != 2 || drift[0].Cause != DriftOSOffTrack || drift[1].Cause != DriftLocalAdminUsed {
		t.Errorf("log unread: %v", drift)
	}
}

func TestFieldErrors(t *testing.T) {
	err := Profile{Name: "ok", OSTrack: "beta", Overlay: "a\nb"}.Validate()
	var fields []string
	for _, fe := range FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if !slices.Equal(fields, []string{"osTrack", "overlay"}) {
		t.Errorf("fields %v (%v)", fields, err)
	}
	if FieldErrors(nil) != nil {
		t.Error("no error names fields")
	}
}
