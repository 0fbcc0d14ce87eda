package camsim

import (
	"testing"
	"time"
)

func TestPosixTZ(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		tz, utc, local string
	}{
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-01-15T12:00:00Z", "2026-01-15T13:00:00+01:00"},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-07-15T12:00:00Z", "2026-07-15T14:00:00+02:00"},
		// The last Sunday of March 2026 is the 29th; CEST starts at 01:00 UTC.
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T00:59:59Z", "2026-03-29T01:59:59+01:00"},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00"},
		// ... and ends on 25 October at 03:00 CEST, 01:00 UTC.
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T00:59:59Z", "2026-10-25T02:59:59+02:00"},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00+01:00"},
		{"<UTC1>-1<UTC2>-2,M3.5.0/2:00:00,M10.5.0/3:00:00", "2026-07-15T12:00:00Z", "2026-07-15T14:00:00+02:00"},
		{"EST5EDT,M3.2.0,M11.1.0", "2026-07-04T16:00:00Z", "2026-07-04T12:00:00-04:00"},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-01-15T00:00:00Z", "2026-01-15T11:00:00+11:00"},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-07-15T00:00:00Z", "2026-07-15T10:00:00+10:00"},
		{"IST-5:30", "2026-07-15T00:00:00Z", "2026-07-15T05:30:00+05:30"},
		{"UTC0", "2026-07-15T00:00:00Z", "2026-07-15T00:00:00Z"},
	} {
		z, err := parsePosixTZ(c.tz)
		if err != nil {
			t.Fatalf("%s: %v", c.tz, err)
		}
		if got := z.local(at(c.utc), true).Format(time.RFC3339); got != c.local {
			t.Errorf("%s at %s: %s, want %s", c.tz, c.utc, got, c.local)
		}
	}
	for _, bad := range []string{"", "C-1", "CET", "CET-1CEST", "CET-1CEST,J60,J300", "CET-1CEST,M13.5.0,M10.5.0", "CET-25", "<>1", "CET-1CEST,M3.5.0,M10.5.0/3x"} {
		if _, err := parsePosixTZ(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParsePosixTZ: a TZ string from a client is an error or a zone, never a panic, and
// a zone always gives a local time within a day of UTC.
func FuzzParsePosixTZ(f *testing.F) {
	for _, s := range []string{"CET-1CEST,M3.5.0,M10.5.0/3", "<UTC1>-1<UTC2>-2,M3.5.0/2:00:00,M10.5.0/3:00:00", "EST5EDT,M3.2.0,M11.1.0", "IST-5:30", "UTC0"} {
		f.Add(s, int64(1780000000))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		z, err := parsePosixTZ(s)
		if err != nil {
			return
		}
		at := time.Unix(unix%(1<<40), 0)
		if _, off := z.local(at, true).Zone(); off > 25*3600 || off < -25*3600 {
			t.Fatalf("%q: offset %d", s, off)
		}
	})
}
