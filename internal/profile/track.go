package profile

import (
	"strconv"
	"strings"
)

// AXIS OS ships on an active track (the newest major release, with new features) and on
// long-term support tracks, each one major.minor line kept for years with fixes only.
// Any other version is off track: supported neither way.
var ltsTracks = map[string]string{
	"9.80":  "lts-2020",
	"10.12": "lts-2022",
	"11.11": "lts-2024",
}

// activeMajor is the major version of the active track.
const activeMajor = 12

// TrackActive is the active track's name.
const TrackActive = "active"

// Tracks lists the known track names.
func Tracks() []string { return []string{TrackActive, "lts-2024", "lts-2022", "lts-2020"} }

// KnownTrack reports whether name is a track.
func KnownTrack(name string) bool {
	for _, t := range Tracks() {
		if t == name {
			return true
		}
	}
	return false
}

// TrackOf is the track an AXIS OS version belongs to, or "" when it is on none.
func TrackOf(version string) string {
	parts := strings.Split(version, ".")
	if len(parts) < 2 {
		return ""
	}
	if t, ok := ltsTracks[parts[0]+"."+parts[1]]; ok {
		return t
	}
	if major, err := strconv.Atoi(parts[0]); err == nil && major >= activeMajor {
		return TrackActive
	}
	return ""
}

// CompareVersions orders two dotted AXIS OS versions by their numbers (11.11.9 before
// 11.11.124): -1, 0 or +1. A part that is not a number counts as 0, a missing one too.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		x, y := versionPart(pa, i), versionPart(pb, i)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil {
		return 0
	}
	return n
}
