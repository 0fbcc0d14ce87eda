package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/profile"
)

// Release kinds.
const (
	ReleaseOS   = "os"   // AXIS OS
	ReleaseACAP = "acap" // an ACAP application package
)

// Release is one file of the software catalog: an AXIS OS version for some products, or
// a version of an application.
type Release struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`           // os or acap
	Name    string `json:"name,omitempty"` // application package name (acap)
	Version string `json:"version"`
	// Products are the ProdNbr values an OS release fits; empty: every product.
	Products  []string  `json:"products,omitempty"`
	Track     string    `json:"track,omitempty"` // os: active, lts-2024, ...
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Signature []byte    `json:"signature"`
	CreatedAt time.Time `json:"createdAt"`
}

// Fits reports whether an OS release fits a product.
func (r Release) Fits(model string) bool {
	model = strings.TrimPrefix(model, "AXIS ")
	return len(r.Products) == 0 || slices.ContainsFunc(r.Products, func(p string) bool { return strings.EqualFold(p, model) })
}

// OSTrack is the AXIS OS track of an OS release: as it was published, else as its
// version says (profile.TrackOf).
func (r Release) OSTrack() string {
	if r.Track != "" {
		return r.Track
	}
	return profile.TrackOf(r.Version)
}

// NewestOS is the newest AXIS OS version in rels that fits model and, when track is set,
// is on it; "" when there is none.
func NewestOS(rels []Release, track, model string) string {
	newest := ""
	for _, r := range rels {
		if r.Kind != ReleaseOS || !r.Fits(model) || track != "" && r.OSTrack() != track {
			continue
		}
		if newest == "" || profile.CompareVersions(r.Version, newest) > 0 {
			newest = r.Version
		}
	}
	return newest
}

// OSUpgrade is the AXIS OS version to recommend to a device of model that runs running:
// the newest published for the model on the track it is on (on any track when it is on
// none), and only when it is newer than running; "" otherwise. It never recommends a
// downgrade, nor a version the catalog cannot deliver.
func OSUpgrade(rels []Release, model, running string) string {
	if running == "" {
		return ""
	}
	newest := NewestOS(rels, profile.TrackOf(running), model)
	if newest == "" || profile.CompareVersions(newest, running) <= 0 {
		return ""
	}
	return newest
}

// AddRelease stores a release; ErrExists when the same kind, name and version with the
// same products is already there.
func (s *Store) AddRelease(ctx context.Context, r Release) (Release, error) {
	r.ID, r.CreatedAt = newID(prefixRelease), s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReleases)
		dup := false
		err := b.ForEach(func(_, v []byte) error {
			var o Release
			if err := json.Unmarshal(v, &o); err != nil {
				return err
			}
			dup = dup || o.Kind == r.Kind && o.Name == r.Name && o.Version == r.Version && slices.Equal(o.Products, r.Products)
			return nil
		})
		if err != nil {
			return err
		}
		if dup {
			return ErrExists
		}
		return putJSON(b, []byte(r.ID), r)
	})
	return r, err
}

// Release returns a release.
func (s *Store) Release(ctx context.Context, id string) (Release, error) {
	var r Release
	err := s.view(ctx, func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketReleases), []byte(id), &r) })
	return r, err
}

// Releases lists the catalog, oldest first.
func (s *Store) Releases(ctx context.Context) ([]Release, error) {
	out := []Release{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReleases).ForEach(func(_, v []byte) error {
			var r Release
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Release) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// DeleteRelease removes a release from the catalog (its file stays while tasks use it).
func (s *Store) DeleteRelease(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReleases)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// SetOperatorOrg records the organization that runs the relay: its admins manage the
// release catalog. Set once, at the first start.
func (s *Store) SetOperatorOrg(ctx context.Context, org string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyOperatorOrg, []byte(org)) })
}

// OperatorOrg is the organization that runs the relay ("" before the first start).
func (s *Store) OperatorOrg(ctx context.Context) (string, error) {
	var org string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		org = string(tx.Bucket(bucketMeta).Get(keyOperatorOrg))
		return nil
	})
	return org, err
}
