package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the invariants between records and their indexes (every index entry
// points at a record, every record has its index entries, records sit under their own
// organization) and bbolt's own page consistency. It returns every problem found.
func (s *Store) Check(ctx context.Context) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			bad("bbolt: %v", err)
		}
		b := func(name []byte) *bolt.Bucket { return tx.Bucket(name) }
		_ = b(bucketUsers).ForEach(func(k, v []byte) error {
			var u User
			if err := decode(v, &u); err != nil {
				bad("user %s: %v", k, err)
			} else if string(b(bucketUsersByEmail).Get(emailKey(u.Email))) != u.ID &&
				string(b(bucketUsersByEmail).Get(lookAlikeKey(u.ID))) != u.ID {
				// A look-alike account (see reindexEmails) has an entry of its own.
				bad("user %s: e-mail index missing", u.ID)
			}
			return nil
		})
		_ = b(bucketUsersByEmail).ForEach(func(k, v []byte) error {
			if b(bucketUsers).Get(v) == nil {
				bad("e-mail %s: no user %s", k, v)
			}
			return nil
		})
		_ = b(bucketMembers).ForEach(func(k, _ []byte) error {
			org, user, _ := strings.Cut(string(k), "/")
			if b(bucketOrgs).Get([]byte(org)) == nil || b(bucketUsers).Get([]byte(user)) == nil {
				bad("member %s: organization or user missing", k)
			}
			if b(bucketMemberOrgs).Get(pair(user, org)) == nil {
				bad("member %s: reverse index missing", k)
			}
			return nil
		})
		_ = b(bucketMemberOrgs).ForEach(func(k, _ []byte) error {
			user, org, _ := strings.Cut(string(k), "/")
			if b(bucketMembers).Get(pair(org, user)) == nil {
				bad("member index %s: no membership", k)
			}
			return nil
		})
		_ = b(bucketTokenSubjects).ForEach(func(k, _ []byte) error {
			_, h, _ := strings.Cut(string(k), "/")
			raw, err := hex.DecodeString(h)
			if err != nil || b(bucketTokens).Get(raw) == nil {
				bad("token index %s: no token", k)
			}
			return nil
		})
		_ = b(bucketTokens).ForEach(func(k, v []byte) error {
			var t Token
			if err := decode(v, &t); err != nil {
				bad("token: %v", err)
			} else if b(bucketTokenSubjects).Get(pair(t.Subject, hex.EncodeToString(k))) == nil {
				bad("token of %s: index missing", t.Subject)
			} else if b(bucketUsers).Get([]byte(t.Subject)) == nil && b(bucketClients).Get([]byte(t.Subject)) == nil {
				bad("token of %s: subject missing", t.Subject)
			}
			return nil
		})
		_ = b(bucketClients).ForEach(func(k, v []byte) error {
			var c Client
			if err := decode(v, &c); err != nil || b(bucketOrgClients).Get(pair(c.Org, c.ID)) == nil {
				bad("client %s: organization index missing", k)
			}
			return nil
		})
		_ = b(bucketOrgClients).ForEach(func(k, _ []byte) error {
			_, id, _ := strings.Cut(string(k), "/")
			if b(bucketClients).Get([]byte(id)) == nil {
				bad("client index %s: no client", k)
			}
			return nil
		})
		_ = b(bucketInvitationCodes).ForEach(func(k, v []byte) error {
			if b(bucketInvitations).Get(v) == nil {
				bad("invitation code: no invitation %s", v)
			}
			return nil
		})
		_ = b(bucketDevices).ForEach(func(k, v []byte) error {
			var d Device
			if err := decode(v, &d); err != nil {
				bad("device %s: %v", k, err)
				return nil
			}
			if string(k) != d.Org+"/"+d.Serial {
				bad("device %s: stored under another organization or serial (%s/%s)", k, d.Org, d.Serial)
			}
			if b(bucketDeviceOrgs).Get(pair(d.Serial, d.Org)) == nil {
				bad("device %s: serial index missing", k)
			}
			if d.Group != "" && b(bucketGroups).Get(pair(d.Org, d.Group)) == nil {
				bad("device %s: group %s missing", k, d.Group)
			}
			owner := string(b(bucketDeviceOwners).Get([]byte(d.Serial)))
			switch {
			case d.Proven && owner != d.Org:
				bad("device %s: proven, but the owner index names %q", k, owner)
			case !d.Proven && owner == d.Org:
				bad("device %s: the owner index names an unproven record", k)
			case !d.Proven && owner != "":
				bad("device %s: an unproven record beside the owner %s's", k, owner)
			case !d.Proven && d.Deep():
				bad("device %s: an agent manages an unproven record", k)
			}
			return nil
		})
		_ = b(bucketDeviceOrgs).ForEach(func(k, _ []byte) error {
			serial, org, _ := strings.Cut(string(k), "/")
			if b(bucketDevices).Get(pair(org, serial)) == nil {
				bad("device index %s: no device of that organization", k)
			}
			return nil
		})
		_ = b(bucketDeviceOwners).ForEach(func(k, v []byte) error {
			if b(bucketDevices).Get(pair(string(v), string(k))) == nil {
				bad("device owner %s: %s has no record of it", k, v)
			}
			return nil
		})
		for _, name := range [][]byte{bucketGroups, bucketInvitations, bucketEdgeHosts} {
			_ = b(name).ForEach(func(k, _ []byte) error {
				org, _, _ := strings.Cut(string(k), "/")
				if b(bucketOrgs).Get([]byte(org)) == nil {
					bad("%s %s: organization missing", name, k)
				}
				return nil
			})
		}
		_ = b(bucketEnrollmentTokens).ForEach(func(_, v []byte) error {
			var et EnrollmentToken
			if err := decode(v, &et); err != nil || b(bucketEdgeHosts).Get(pair(et.Org, et.EdgeHost)) == nil {
				bad("enrollment token: edge host %s missing", et.EdgeHost)
			}
			return nil
		})
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}
