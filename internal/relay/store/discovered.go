package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// maxDiscovered bounds what one edge host's discovery report may hold.
const maxDiscovered = 10000

// SetDiscovered replaces what an edge host last found on its network.
func (s *Store) SetDiscovered(ctx context.Context, org, edgeHostID string, found []linkapi.DiscoveredDevice) error {
	if len(found) > maxDiscovered {
		found = found[:maxDiscovered]
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEdgeHosts).Get(pair(org, edgeHostID)) == nil {
			return ErrNotFound
		}
		return putJSON(tx.Bucket(bucketDiscovered), pair(org, edgeHostID), found)
	})
}

// Discovered returns what an edge host last found (empty before its first report).
func (s *Store) Discovered(ctx context.Context, org, edgeHostID string) ([]linkapi.DiscoveredDevice, error) {
	out := []linkapi.DiscoveredDevice{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEdgeHosts).Get(pair(org, edgeHostID)) == nil {
			return ErrNotFound
		}
		if err := getJSON(tx.Bucket(bucketDiscovered), pair(org, edgeHostID), &out); err != ErrNotFound {
			return err
		}
		return nil
	})
	return out, err
}
