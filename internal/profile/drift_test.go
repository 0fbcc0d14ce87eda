package profile

import (
	"encoding/json"
	"testing"
	"time"
)

// Five login sessions of the same account from the same address are one reason for
// drift, seen from the first session to the last, five times; another address is
// another reason.
func TestDriftIsOnePerCauseAndDetail(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var logins []Login
	for i := range 5 {
		logins = append(logins, Login{User: "root", From: "192.0.2.7", At: t0.Add(time.Duration(i) * 24 * time.Hour)})
	}
	logins = append(logins, Login{User: "root", From: "192.0.2.8", At: t0.Add(time.Hour)})
	got := DriftOf(Profile{Name: "default"}, State{OSVersion: "12.11.80", Logins: logins})
	if len(got) != 2 {
		t.Fatalf("drift %+v, want one entry per address", got)
	}
	if d := got[0]; d.Count != 5 || !d.FirstSeen.Equal(t0) || !d.LastSeen.Equal(t0.Add(4*24*time.Hour)) {
		t.Errorf("five sessions: %+v, want count 5 from the first session to the last", d)
	}
	if d := got[1]; d.Count != 1 || !d.FirstSeen.Equal(t0.Add(time.Hour)) || d.Detail == got[0].Detail {
		t.Errorf("the other address: %+v", d)
	}
}

// The relay keeps when a state was first heard of and an event first happened, across
// reports; entries of earlier agents and records (one "at", one per occurrence) come out
// the same.
func TestMergeDrift(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var old []Drift
	if err := json.Unmarshal([]byte(`[{"cause":"local-admin-login","detail":"root from x","at":"2026-03-01T08:00:00Z"},
		{"cause":"local-admin-login","detail":"root from x","at":"2026-03-02T08:00:00Z"},
		{"cause":"unexpected-app","detail":"Rogue"}]`), &old); err != nil {
		t.Fatal(err)
	}
	first := MergeDrift(nil, old, t0.Add(48*time.Hour))
	if len(first) != 2 || first[0].Count != 2 || !first[0].FirstSeen.Equal(t0) || !first[0].LastSeen.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("first report: %+v", first)
	}
	if a := first[1]; a.Count != 1 || !a.FirstSeen.Equal(t0.Add(48*time.Hour)) || !a.LastSeen.Equal(a.FirstSeen) {
		t.Fatalf("a state first heard of: %+v", a)
	}
	// Later: the log rotated the first session out and holds a new one.
	later := []Drift{
		{Cause: DriftLocalAdminUsed, Detail: "root from x", FirstSeen: t0.Add(24 * time.Hour), LastSeen: t0.Add(72 * time.Hour), Count: 2},
		{Cause: DriftUnexpectedApp, Detail: "Rogue", Count: 1},
	}
	now := t0.Add(96 * time.Hour)
	second := MergeDrift(first, later, now)
	if l := second[0]; l.Count != 2 || !l.FirstSeen.Equal(t0) || !l.LastSeen.Equal(t0.Add(72*time.Hour)) {
		t.Errorf("login after a second report: %+v", l)
	}
	if a := second[1]; !a.FirstSeen.Equal(t0.Add(48*time.Hour)) || !a.LastSeen.Equal(now) || a.Count != 1 {
		t.Errorf("state after a second report: %+v", a)
	}
}
