// Package store keeps the relay's state in one bbolt file: users, organizations and their
// members, bearer tokens, application clients, invitations, resource groups, the device
// inventory and edge hosts with their enrollment tokens and link state.
//
// Every method is one bbolt transaction, so each change and its index entries commit
// together or not at all. Secrets arrive already hashed (package auth); the store never
// sees a password, token or client secret in clear, and never an owner authentication key
// (package oak). The one secret the relay must use again, a user's TOTP key, is sealed
// (package seal) under a key file kept beside the database (Options.Seal). Callers scope every lookup by organization: a record of another
// organization is ErrNotFound, so the API can answer 404 without leaking that it exists.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/opencamcloud/camcloud/internal/seal"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Now is the clock for expiry checks and timestamps; nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for another process to release the file;
	// 0 means 500ms. After it, Open fails with ErrLocked.
	LockTimeout time.Duration
	// NoSync skips fsync; only for tests that create thousands of records.
	NoSync bool
	// Seal seals the users' two-step verification secrets. With it, Open seals the
	// secrets an older relay stored in clear and fails with ErrSealKey when the stored
	// ones do not open. Without it (tools that work on a stopped relay's data) sealed
	// secrets stay sealed and writing a new one fails with ErrNoSealKey.
	Seal *seal.Box
}

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	now  func() time.Time
	seal *seal.Box // nil: see Options.Seal

	// What every authorized request reads; see decodeCache.
	tokens  *decodeCache[Token]
	members *decodeCache[Member]
	routes  *decodeCache[DeviceRoute]
	// What device lists read: decoding is most of a list's cost (ListDevices). Up to
	// 65,536 devices, about 1 KB each (stored bytes and decoded form).
	devices *decodeCache[Device]
	// What the task manager reads on each pass; see readTask.
	tasks *decodeCache[storedTask]

	// writes counts the write transactions asked for (see Writes).
	writes atomic.Uint64
}

// Open opens (creating if needed) the database file at path with mode 0600.
func Open(path string, opts Options) (*Store, error) {
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	var sealed int
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
				return err
			}
		case string(v) == "1":
			if err := migrateDevicesV1(tx); err != nil {
				return fmt.Errorf("migrate schema 1 to %s: %w", schemaVersion, err)
			}
			if err := reindexEmails(tx); err != nil {
				return fmt.Errorf("migrate schema 1 to %s: %w", schemaVersion, err)
			}
			if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
				return err
			}
		case string(v) != schemaVersion:
			return fmt.Errorf("schema version %q, this relay knows %q", v, schemaVersion)
		}
		if opts.Seal == nil {
			return nil
		}
		var err error
		sealed, err = sealSecrets(tx, opts.Seal)
		return err
	})
	if err == nil && sealed > 0 {
		// bbolt leaves the pages it replaced in the file as they were: only a rewrite
		// takes the secrets' clear text out of it.
		db, err = compact(db, path, opts)
		if err != nil {
			return nil, fmt.Errorf("open %s: two-step verification secrets sealed: %w", path, err)
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, seal: opts.Seal,
		tokens:  newDecodeCache[Token](4096),
		members: newDecodeCache[Member](4096),
		routes:  newDecodeCache[DeviceRoute](4096),
		devices: newDecodeCache[Device](1 << 16),
		tasks:   newDecodeCache[storedTask](1 << 16),
	}, nil
}

func openBolt(path string, opts Options) (*bolt.DB, error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond // see batch
	return db, nil
}

// compact rewrites the database at path, which db has open, into a new file that
// holds only the live records, and opens that. db is closed in any case.
func compact(db *bolt.DB, path string, opts Options) (*bolt.DB, error) {
	tmp := path + ".compact"
	_ = os.Remove(tmp) // left by a crash during an earlier rewrite
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: opts.NoSync})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	err = bolt.Compact(dst, db, 0)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	return openBolt(path, opts)
}

// Close closes the database. It waits for running transactions; calling it twice is fine.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Now is the store's clock, so callers that compute expiries agree with the store's checks.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// Writes is how many write transactions callers have asked for since Open (batched ones
// each count, though they may share a commit): a measure of what a piece of work costs
// the store that does not depend on how fast the disk is.
func (s *Store) Writes() uint64 { return s.writes.Load() }

func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writes.Add(1)
	return s.db.Update(fn)
}

// batch is update for hot paths (task updates): concurrent calls share one transaction
// and one fsync. fn may run more than once, so it must only depend on what it reads.
func (s *Store) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writes.Add(1)
	return s.db.Batch(fn)
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s/%s: %w", b.String(), key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, raw)
}

// scanPrefix calls fn for every key under prefix, in key order, starting after the key
// `after` when it is not nil. fn returns false to stop.
func scanPrefix(b *bolt.Bucket, prefix, after []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	k, v := c.Seek(prefix)
	if after != nil {
		k, v = c.Seek(after)
		if k != nil && string(k) == string(after) {
			k, v = c.Next()
		}
	}
	for ; k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// deletePrefix removes every key under prefix and returns the removed keys.
func deletePrefix(b *bolt.Bucket, prefix []byte) ([][]byte, error) {
	var keys [][]byte
	err := scanPrefix(b, prefix, nil, func(k, _ []byte) (bool, error) {
		keys = append(keys, append([]byte(nil), k...))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix plus 80 random bits: unguessable, so that knowing one
// organization's IDs tells nothing about another's.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return prefix + idEncoding.EncodeToString(b)
}

// present is the value of index entries whose key says everything. It is not empty
// because bbolt's Get does not tell an empty value from a missing key.
var present = []byte{1}

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}
