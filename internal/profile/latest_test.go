package profile

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"11.11.9", "11.11.124", -1}, {"12.11.80", "12.11.77", 1}, {"12.11.77", "12.11.77", 0},
		{"12.11", "12.11.0", 0}, {"9.80.3", "10.12.1", -1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// "latest" on a track is the newest published release for the device, and never a
// downgrade: a device already newer than what is published stays where it is.
func TestLatestOSForDevice(t *testing.T) {
	p := Profile{Name: "p", OSTrack: TrackActive, OSVersion: LatestOS}
	if err := p.Validate(); err != nil {
		t.Fatalf("latest on a track: %v", err)
	}
	if err := (Profile{Name: "p", OSVersion: LatestOS}).Validate(); err == nil {
		t.Error(`"latest" without a track accepted`)
	}
	for _, c := range []struct{ running, latest, want string }{
		{"12.11.77", "12.11.80", "12.11.80"},  // an upgrade
		{"12.11.80", "12.11.77", ""},          // never a downgrade
		{"12.11.80", "12.11.80", ""},          // already there
		{"11.11.124", "12.11.80", "12.11.80"}, // off the profile's track: to it
		{"12.11.77", "", ""},                  // nothing published
	} {
		if got := p.ForDevice(c.running, c.latest).OSVersion; got != c.want {
			t.Errorf("running %s, latest published %q: osVersion %q, want %q", c.running, c.latest, got, c.want)
		}
	}
	exact := Profile{Name: "p", OSVersion: "12.11.77"}
	if got := exact.ForDevice("12.11.80", "12.11.90").OSVersion; got != "12.11.77" {
		t.Errorf("an exact version changed to %q", got)
	}
	// An agent given "latest" (onboarding, before the relay resolved it) compares no version.
	if d := Diff(p, State{OSVersion: "12.11.77"}); len(d) != 0 {
		t.Errorf("difference to an unresolved latest: %v", d)
	}
}
