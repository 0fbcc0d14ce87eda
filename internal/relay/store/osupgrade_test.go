package store

import "testing"

// Recommendations come from what the release catalog holds: an upgrade on the device's
// track for its model, never a downgrade, never another model's file.
func TestOSUpgrade(t *testing.T) {
	rels := []Release{
		{Kind: ReleaseOS, Version: "12.11.77", Products: []string{"P3265-V"}},
		{Kind: ReleaseOS, Version: "11.11.130"},
		{Kind: ReleaseOS, Version: "12.11.95", Products: []string{"M5075-G"}},
		{Kind: ReleaseACAP, Name: "app", Version: "99.0.0"},
	}
	for _, c := range []struct{ model, running, want string }{
		{"P3265-V", "12.11.80", ""},           // 12.11.77 is older
		{"P3265-V", "12.11.60", "12.11.77"},   // an upgrade on its track
		{"P3265-V", "11.11.124", "11.11.130"}, // LTS stays LTS
		{"P3265-V", "11.8.61", "12.11.77"},    // on no track: the newest there is
		{"P3265-V", "", ""},
	} {
		if got := OSUpgrade(rels, c.model, c.running); got != c.want {
			t.Errorf("%s on %q: recommend %q, want %q", c.model, c.running, got, c.want)
		}
	}
	rels = append(rels, Release{Kind: ReleaseOS, Version: "12.11.90", Products: []string{"P3265-V"}})
	if got := OSUpgrade(rels, "P3265-V", "12.11.80"); got != "12.11.90" {
		t.Errorf("after 12.11.90 was published: %q", got)
	}
	if got := NewestOS(rels, "lts-2024", "P3265-V"); got != "11.11.130" {
		t.Errorf("newest on lts-2024: %q", got)
	}
}
