// Package devstore is an edge host's own record of the devices it manages, in bbolt in
// its data directory: each device's address, the VAPIX account the agent made on it
// (password sealed by package seal, never in clear), its profile and mode. Tasks are
// journaled by the task engine (pkg/taskengine), not here; a store an older agent wrote
// may still hold onboarding tasks, which LegacyTasks hands over once.
package devstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/seal"
)

var bucketDevices = []byte("devices")

// The buckets where older agents kept their onboarding tasks (see LegacyTasks).
var (
	bucketLegacyTasks      = []byte("tasks")
	bucketLegacyUnreported = []byte("tasks_unreported") // IDs of tasks whose latest state the relay lacked
)

// ErrNotFound: no such device or task.
var ErrNotFound = errors.New("devstore: not found")

// Device is a device the agent manages.
type Device struct {
	Serial  string `json:"serial"`
	Address string `json:"address"` // host:port of its VAPIX, as last found
	User    string `json:"user"`    // the agent's own VAPIX account on the device
	// SealedPassword is that account's password sealed under the device's serial.
	SealedPassword []byte `json:"sealedPassword"`
	// SealedPending is a new password being rotated in, until the device confirmed it.
	SealedPending []byte          `json:"sealedPending,omitempty"`
	Model         string          `json:"model,omitempty"`
	Profile       profile.Profile `json:"profile"`
	Mode          string          `json:"mode"`
	ManagedSince  time.Time       `json:"managedSince,omitzero"`
	OnboardedAt   time.Time       `json:"onboardedAt"`
}

// LegacyTask is an onboarding task as an older agent kept it here, with whether the
// relay acknowledged its latest state.
type LegacyTask struct {
	linkapi.TaskReport
	Reported bool `json:"reported"`
}

// Store is the agent's database.
type Store struct {
	db  *bolt.DB
	box *seal.Box
}

// Files of the store in an agent's data directory.
const (
	KeyFile = "device-key" // seals the device credentials (0600)
	DBFile  = "devices.db" // the devices
)

// OpenDir opens the store of an agent's data directory: DBFile, with passwords sealed
// under the key in KeyFile (made on first use).
func OpenDir(dataDir string) (*Store, error) {
	box, _, err := seal.OpenBox(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return nil, err
	}
	return Open(filepath.Join(dataDir, DBFile), box)
}

// Open opens (creating) the database at path; box seals device passwords.
func Open(path string, box *seal.Box) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("devstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketDevices)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("devstore: %w", err)
	}
	return &Store{db: db, box: box}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// PutDevice writes a device, sealing password when it is not empty (else the stored
// sealed password stays).
func (s *Store) PutDevice(d Device, password string) error {
	if password != "" {
		d.SealedPassword = s.box.Seal([]byte(password), d.Serial)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDevices)
		if password == "" && d.SealedPassword == nil {
			var old Device
			if err := get(b, d.Serial, &old); err == nil {
				d.SealedPassword = old.SealedPassword
			}
		}
		return put(b, d.Serial, d)
	})
}

// UpdateDevice changes a stored device through fn.
func (s *Store) UpdateDevice(serial string, fn func(*Device)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDevices)
		var d Device
		if err := get(b, serial, &d); err != nil {
			return err
		}
		fn(&d)
		d.Serial = serial
		return put(b, serial, d)
	})
}

// DeleteDevice forgets a device and the agent's credentials on it; a device the store
// does not have is not an error.
func (s *Store) DeleteDevice(serial string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDevices).Delete([]byte(serial)) })
}

// Device returns a stored device.
func (s *Store) Device(serial string) (Device, error) {
	var d Device
	err := s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bucketDevices), serial, &d) })
	return d, err
}

// Devices lists the stored devices by serial.
func (s *Store) Devices() ([]Device, error) {
	var out []Device
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDevices).ForEach(func(_, v []byte) error {
			var d Device
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Password opens the agent's password for a device.
func (s *Store) Password(d Device) (string, error) {
	p, err := s.box.Open(d.SealedPassword, d.Serial)
	if err != nil {
		return "", fmt.Errorf("device %s: %w", d.Serial, err)
	}
	return string(p), nil
}

// SetPassword stores a new password of the agent's account on a device: pending (a
// rotation under way, the current password kept) or current (the pending one dropped).
func (s *Store) SetPassword(serial, password string, pending bool) error {
	sealed := s.box.Seal([]byte(password), serial)
	return s.UpdateDevice(serial, func(d *Device) {
		if pending {
			d.SealedPending = sealed
		} else {
			d.SealedPassword, d.SealedPending = sealed, nil
		}
	})
}

// Pending opens a device's pending password ("" when no rotation is under way).
func (s *Store) Pending(d Device) (string, error) {
	if len(d.SealedPending) == 0 {
		return "", nil
	}
	p, err := s.box.Open(d.SealedPending, d.Serial)
	if err != nil {
		return "", fmt.Errorf("device %s: %w", d.Serial, err)
	}
	return string(p), nil
}

// LegacyTasks lists the onboarding tasks an older agent kept in this store, by ID (none
// in a store this version made). The caller journals them where tasks are kept now, then
// drops them here (DropLegacyTasks). A task whose latest state the relay had not
// acknowledged comes back with Reported false.
func (s *Store) LegacyTasks() ([]LegacyTask, error) {
	var out []LegacyTask
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLegacyTasks)
		if b == nil {
			return nil
		}
		unreported := tx.Bucket(bucketLegacyUnreported)
		return b.ForEach(func(k, v []byte) error {
			var t LegacyTask
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("devstore: task %s: %w", k, err)
			}
			if unreported != nil && unreported.Get(k) != nil {
				t.Reported = false
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// DropLegacyTasks removes the buckets of an older agent's tasks (LegacyTasks).
func (s *Store) DropLegacyTasks() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketLegacyTasks, bucketLegacyUnreported} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return fmt.Errorf("devstore: drop %s: %w", name, err)
			}
		}
		return nil
	})
}

func get(b *bolt.Bucket, key string, v any) error {
	raw := b.Get([]byte(key))
	if raw == nil {
		return ErrNotFound
	}
	return json.Unmarshal(raw, v)
}

func put(b *bolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}
