package store

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/profile"
)

// ErrProfileInUse: a profile devices follow cannot be deleted.
var ErrProfileInUse = errors.New("store: profile in use by devices")

// PutProfile creates (create true: ErrExists if the name is taken) or replaces a profile
// of an organization. A profile marked Default becomes the only default one.
func (s *Store) PutProfile(ctx context.Context, org string, p profile.Profile, create bool) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		exists := b.Get(pair(org, p.Name)) != nil
		switch {
		case create && exists:
			return ErrExists
		case !create && !exists:
			return ErrNotFound
		}
		if p.Default {
			if err := clearDefault(b, org); err != nil {
				return err
			}
		}
		return putJSON(b, pair(org, p.Name), p)
	})
}

func clearDefault(b *bolt.Bucket, org string) error {
	return scanPrefix(b, prefixOf(org), nil, func(k, v []byte) (bool, error) {
		var p profile.Profile
		if err := getJSON(b, k, &p); err != nil {
			return false, err
		}
		if p.Default {
			p.Default = false
			if err := putJSON(b, k, p); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// Profile returns a profile of an organization.
func (s *Store) Profile(ctx context.Context, org, name string) (profile.Profile, error) {
	var p profile.Profile
	err := s.view(ctx, func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketProfiles), pair(org, name), &p) })
	return p, err
}

// Profiles lists an organization's profiles by name.
func (s *Store) Profiles(ctx context.Context, org string) ([]profile.Profile, error) {
	out := []profile.Profile{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		return scanPrefix(b, prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			var p profile.Profile
			if err := getJSON(b, k, &p); err != nil {
				return false, err
			}
			out = append(out, p)
			return true, nil
		})
	})
	return out, err
}

// DefaultProfileName is the profile an organization gets when it has none.
const DefaultProfileName = "default"

// DefaultProfile returns the organization's default profile, creating the built-in one
// (any supported AXIS OS track, no applications) when the organization has no default.
func (s *Store) DefaultProfile(ctx context.Context, org string) (profile.Profile, error) {
	var out profile.Profile
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		found := false
		err := scanPrefix(b, prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			var p profile.Profile
			if err := getJSON(b, k, &p); err != nil {
				return false, err
			}
			if p.Default {
				out, found = p, true
				return false, nil
			}
			return true, nil
		})
		if err != nil || found {
			return err
		}
		if err := getJSON(b, pair(org, DefaultProfileName), &out); err == nil {
			out.Default = true
		} else {
			out = profile.Profile{Name: DefaultProfileName, Default: true}
		}
		return putJSON(b, pair(org, out.Name), out)
	})
	if err != nil {
		return profile.Profile{}, fmt.Errorf("default profile: %w", err)
	}
	return out, nil
}

// DeleteProfile removes a profile no device follows.
func (s *Store) DeleteProfile(ctx context.Context, org, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		if b.Get(pair(org, name)) == nil {
			return ErrNotFound
		}
		inUse := false
		err := scanPrefix(tx.Bucket(bucketDevices), prefixOf(org), nil, func(_, v []byte) (bool, error) {
			var d Device
			if err := decode(v, &d); err != nil {
				return false, err
			}
			inUse = d.Profile == name
			return !inUse, nil
		})
		if err != nil {
			return err
		}
		if inUse {
			return ErrProfileInUse
		}
		return b.Delete(pair(org, name))
	})
}
