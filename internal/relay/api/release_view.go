package api

import (
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// ReleaseView is a release as the API answers it (api/openapi.yaml Release).
type ReleaseView struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name,omitempty"`
	Version  string   `json:"version"`
	Products []string `json:"products,omitempty"`
	// Track is the AXIS OS track of an OS release: as published, else as its version says.
	Track     string    `json:"track,omitempty"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Signature []byte    `json:"signature"`
	CreatedAt time.Time `json:"createdAt"`
}

func viewRelease(r store.Release) ReleaseView {
	v := ReleaseView{ID: r.ID, Kind: r.Kind, Name: r.Name, Version: r.Version, Products: r.Products, Track: r.Track,
		SHA256: r.SHA256, Size: r.Size, Signature: r.Signature, CreatedAt: r.CreatedAt}
	if r.Kind == store.ReleaseOS {
		v.Track = r.OSTrack()
	}
	return v
}

func viewReleases(rs []store.Release) []ReleaseView {
	out := make([]ReleaseView, 0, len(rs))
	for _, r := range rs {
		out = append(out, viewRelease(r))
	}
	return out
}
