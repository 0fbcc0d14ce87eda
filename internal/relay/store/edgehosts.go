package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
)

// EdgeHost is an agent on a customer network that manages many devices. It exists from
// the moment an admin creates it (with a one-time enrollment token) and is enrolled once
// the token is consumed.
type EdgeHost struct {
	ID             string    `json:"id"`
	Org            string    `json:"org"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"createdAt"`
	TokenHash      []byte    `json:"tokenHash"`
	TokenExpiresAt time.Time `json:"tokenExpiresAt"`
	EnrolledAt     time.Time `json:"enrolledAt,omitzero"`
	Connected      bool      `json:"connected"`
	LastSeen       time.Time `json:"lastSeen,omitzero"`
	// Forget lists devices the edge host is to forget (deleted, or moved to another edge
	// host) and may still report; a serial goes once a report no longer has it.
	Forget []string `json:"forget,omitempty"`
	// ReportedAt is when it last reported its inventory.
	ReportedAt time.Time `json:"reportedAt,omitzero"`
}

// EnrollmentToken is the stored form of an edge host's one-time enrollment token.
type EnrollmentToken struct {
	Org       string    `json:"org"`
	EdgeHost  string    `json:"edgeHost"`
	ExpiresAt time.Time `json:"expiresAt"`
	UsedAt    time.Time `json:"usedAt,omitzero"`
}

// CreateEdgeHost adds an edge host with the hash of its enrollment token.
func (s *Store) CreateEdgeHost(ctx context.Context, org, name string, tokenHash [32]byte, expiresAt time.Time) (EdgeHost, error) {
	h := EdgeHost{
		ID: newID(prefixEdgeHost), Org: org, Name: name, CreatedAt: s.now().UTC(),
		TokenHash: tokenHash[:], TokenExpiresAt: expiresAt.UTC(),
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(org)) == nil {
			return ErrNotFound
		}
		if err := putJSON(tx.Bucket(bucketEdgeHosts), pair(org, h.ID), h); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketEnrollmentTokens), tokenHash[:], EnrollmentToken{Org: org, EdgeHost: h.ID, ExpiresAt: h.TokenExpiresAt})
	})
	if err != nil {
		return EdgeHost{}, fmt.Errorf("create edge host: %w", err)
	}
	return h, nil
}

// EdgeHost returns an edge host of an organization.
func (s *Store) EdgeHost(ctx context.Context, org, id string) (EdgeHost, error) {
	var h EdgeHost
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketEdgeHosts), pair(org, id), &h)
	})
	return h, err
}

// EdgeHosts lists an organization's edge hosts by name.
func (s *Store) EdgeHosts(ctx context.Context, org string) ([]EdgeHost, error) {
	var out []EdgeHost
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketEdgeHosts), prefixOf(org), nil, func(_, v []byte) (bool, error) {
			var h EdgeHost
			err := decode(v, &h)
			out = append(out, h)
			return true, err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DeleteEdgeHost removes an edge host and its enrollment token. Its devices stay in the
// inventory, no longer managed. The tasks of running jobs that it holds or would be
// given fail, "the edge host was deleted", so that their jobs end. The link step must
// also close a live link of the host and refuse its certificate from then on (it looks
// the host up on every connect).
func (s *Store) DeleteEdgeHost(ctx context.Context, org, id string) error {
	now := s.now().UTC()
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEdgeHosts)
		var h EdgeHost
		if err := getJSON(b, pair(org, id), &h); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEnrollmentTokens).Delete(h.TokenHash); err != nil {
			return err
		}
		devices := tx.Bucket(bucketDevices)
		err := scanPrefix(devices, prefixOf(org), nil, func(k, v []byte) (bool, error) {
			var d Device
			if err := decode(v, &d); err != nil {
				return false, err
			}
			if d.EdgeHost != id {
				return true, nil
			}
			d.EdgeHost, d.Connected = "", false
			return true, putJSON(devices, k, d)
		})
		if err != nil {
			return err
		}
		if err := failAgentTasks(tx, org, id, "the edge host was deleted", now); err != nil {
			return fmt.Errorf("end the edge host's tasks: %w", err)
		}
		return b.Delete(pair(org, id))
	})
}

// ConsumeEnrollmentToken uses up a one-time enrollment token (given in clear; only its
// hash is looked up) and marks its edge host enrolled. Errors:
// ErrEnrollmentTokenUnknown, ErrEnrollmentTokenUsed, ErrEnrollmentTokenExpired. Validate
// everything else of the enrollment request first: a consumed token cannot be retried.
func (s *Store) ConsumeEnrollmentToken(ctx context.Context, token string) (org, edgeHostID string, _ error) {
	hash := auth.HashSecret(token)
	now := s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketEnrollmentTokens)
		var et EnrollmentToken
		if err := getJSON(tokens, hash[:], &et); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrEnrollmentTokenUnknown
			}
			return err
		}
		switch {
		case !et.UsedAt.IsZero():
			return ErrEnrollmentTokenUsed
		case !now.Before(et.ExpiresAt):
			return ErrEnrollmentTokenExpired
		}
		hosts := tx.Bucket(bucketEdgeHosts)
		var h EdgeHost
		if err := getJSON(hosts, pair(et.Org, et.EdgeHost), &h); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrEnrollmentTokenUnknown
			}
			return err
		}
		et.UsedAt, h.EnrolledAt = now, now
		if err := putJSON(tokens, hash[:], et); err != nil {
			return err
		}
		org, edgeHostID = et.Org, et.EdgeHost
		return putJSON(hosts, pair(et.Org, et.EdgeHost), h)
	})
	if err != nil {
		return "", "", fmt.Errorf("consume enrollment token: %w", err)
	}
	return org, edgeHostID, nil
}

// SetAgentConnection records that an agent's link came up (connected) or went down, at
// the given time, which becomes its last-seen time. agentID is an edge host ID, or
// DeviceAgentID(serial) for an agent on a device. When an edge host goes down, the
// devices it manages are marked disconnected too.
func (s *Store) SetAgentConnection(ctx context.Context, org, agentID string, connected bool, at time.Time) error {
	at = at.UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if serial, ok := AgentDevice(agentID); ok {
			var d Device
			devices := tx.Bucket(bucketDevices)
			if err := getJSON(devices, pair(org, serial), &d); err != nil || d.AgentID != agentID {
				return cmpErr(err, ErrNotFound)
			}
			d.Connected, d.LastSeen = connected, at
			return putJSON(devices, pair(org, serial), d)
		}
		hosts := tx.Bucket(bucketEdgeHosts)
		var h EdgeHost
		if err := getJSON(hosts, pair(org, agentID), &h); err != nil {
			return err
		}
		h.Connected, h.LastSeen = connected, at
		if err := putJSON(hosts, pair(org, agentID), h); err != nil {
			return err
		}
		if connected {
			return nil
		}
		devices := tx.Bucket(bucketDevices)
		return scanPrefix(devices, prefixOf(org), nil, func(k, v []byte) (bool, error) {
			var d Device
			if err := decode(v, &d); err != nil {
				return false, err
			}
			if d.EdgeHost != agentID || !d.Connected {
				return true, nil
			}
			d.Connected = false
			return true, putJSON(devices, k, d)
		})
	})
	if err != nil {
		return fmt.Errorf("agent %s connection: %w", agentID, err)
	}
	return nil
}

// MarkAllAgentsDisconnected sets every agent offline. The relay calls it at start: links
// do not survive a restart, and a crash may have left agents marked connected.
func (s *Store) MarkAllAgentsDisconnected(ctx context.Context) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		hosts := tx.Bucket(bucketEdgeHosts)
		var hs []EdgeHost
		if err := hosts.ForEach(func(_, v []byte) error {
			var h EdgeHost
			if err := decode(v, &h); err != nil || !h.Connected {
				return err
			}
			hs = append(hs, h)
			return nil
		}); err != nil {
			return err
		}
		for _, h := range hs {
			h.Connected = false
			if err := putJSON(hosts, pair(h.Org, h.ID), h); err != nil {
				return err
			}
		}
		devices := tx.Bucket(bucketDevices)
		var ds []Device
		if err := devices.ForEach(func(_, v []byte) error {
			var d Device
			if err := decode(v, &d); err != nil || !d.Connected {
				return err
			}
			ds = append(ds, d)
			return nil
		}); err != nil {
			return err
		}
		for _, d := range ds {
			d.Connected = false
			if err := putJSON(devices, pair(d.Org, d.Serial), d); err != nil {
				return err
			}
		}
		return nil
	})
}

// CheckAgent tells whether agentID (an edge host ID, or DeviceAgentID(serial)) is an
// enrolled agent of org. The link handler calls it on every connect, so that deleting an
// edge host or a device locks its agent out even while its certificate is still valid.
func (s *Store) CheckAgent(ctx context.Context, org, agentID string) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		if serial, ok := AgentDevice(agentID); ok {
			var d Device
			if err := getJSON(tx.Bucket(bucketDevices), pair(org, serial), &d); err != nil || d.AgentID != agentID {
				return cmpErr(err, ErrNotFound)
			}
			return nil
		}
		var h EdgeHost
		if err := getJSON(tx.Bucket(bucketEdgeHosts), pair(org, agentID), &h); err != nil || h.EnrolledAt.IsZero() {
			return cmpErr(err, ErrNotFound)
		}
		return nil
	})
}
