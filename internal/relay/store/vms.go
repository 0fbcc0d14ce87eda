package store

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// VMSServer is a VMS server on an edge host's network that an admin registered as an
// EdgeLink target: besides the devices it manages, the only other place an edge host
// forwards requests to.
type VMSServer struct {
	Name      string    `json:"name"`
	Address   string    `json:"address"` // host:port on the edge host's network
	HTTPS     bool      `json:"https"`
	EdgeHost  string    `json:"edgeHost"`
	CreatedAt time.Time `json:"createdAt"`
}

func vmsKey(org, edgeHost, name string) []byte { return []byte(org + "/" + edgeHost + "/" + name) }

// PutVMS registers (or changes) a VMS server of an edge host.
func (s *Store) PutVMS(ctx context.Context, org string, v VMSServer) (VMSServer, error) {
	v.CreatedAt = s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEdgeHosts).Get(pair(org, v.EdgeHost)) == nil {
			return ErrNotFound
		}
		return putJSON(tx.Bucket(bucketVMS), vmsKey(org, v.EdgeHost, v.Name), v)
	})
	return v, err
}

// DeleteVMS removes a VMS server of an edge host.
func (s *Store) DeleteVMS(ctx context.Context, org, edgeHost, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVMS)
		if b.Get(vmsKey(org, edgeHost, name)) == nil {
			return ErrNotFound
		}
		return b.Delete(vmsKey(org, edgeHost, name))
	})
}

// VMSServers lists an edge host's VMS servers by name.
func (s *Store) VMSServers(ctx context.Context, org, edgeHost string) ([]VMSServer, error) {
	out := []VMSServer{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEdgeHosts).Get(pair(org, edgeHost)) == nil {
			return ErrNotFound
		}
		b := tx.Bucket(bucketVMS)
		return scanPrefix(b, []byte(org+"/"+edgeHost+"/"), nil, func(k, _ []byte) (bool, error) {
			var v VMSServer
			if err := getJSON(b, k, &v); err != nil {
				return false, err
			}
			out = append(out, v)
			return true, nil
		})
	})
	return out, err
}
