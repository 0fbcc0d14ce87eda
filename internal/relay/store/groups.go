package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group is a resource group: a named set of devices inside an organization.
type Group struct {
	ID          string    `json:"id"`
	Org         string    `json:"org"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// CreateGroup adds a resource group.
func (s *Store) CreateGroup(ctx context.Context, org, name, description string) (Group, error) {
	g := Group{ID: newID(prefixGroup), Org: org, Name: name, Description: description, CreatedAt: s.now().UTC()}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(org)) == nil {
			return ErrNotFound
		}
		return putJSON(tx.Bucket(bucketGroups), pair(org, g.ID), g)
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// Group returns a resource group of an organization.
func (s *Store) Group(ctx context.Context, org, id string) (Group, error) {
	var g Group
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketGroups), pair(org, id), &g)
	})
	return g, err
}

// Groups lists an organization's resource groups by name.
func (s *Store) Groups(ctx context.Context, org string) ([]Group, error) {
	var out []Group
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketGroups), prefixOf(org), nil, func(_, v []byte) (bool, error) {
			var g Group
			err := decode(v, &g)
			out = append(out, g)
			return true, err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// UpdateGroup changes a group's name and description through fn.
func (s *Store) UpdateGroup(ctx context.Context, org, id string, fn func(*Group) error) (Group, error) {
	var g Group
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if err := getJSON(b, pair(org, id), &g); err != nil {
			return err
		}
		if err := fn(&g); err != nil {
			return err
		}
		g.ID, g.Org = id, org // fn may not move a group
		return putJSON(b, pair(org, id), g)
	})
	return g, err
}

// DeleteGroup removes a group; its devices stay, in no group.
func (s *Store) DeleteGroup(ctx context.Context, org, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if b.Get(pair(org, id)) == nil {
			return ErrNotFound
		}
		devices := tx.Bucket(bucketDevices)
		err := scanPrefix(devices, prefixOf(org), nil, func(k, v []byte) (bool, error) {
			var d Device
			if err := decode(v, &d); err != nil {
				return false, err
			}
			if d.Group != id {
				return true, nil
			}
			d.Group = ""
			return true, putJSON(devices, k, d)
		})
		if err != nil {
			return err
		}
		return b.Delete(pair(org, id))
	})
}
