// Package devstore is an edge host's own record of the devices it manages and of the
// tasks it created, in bbolt in its data directory: each device's address, the VAPIX
// account the agent made on it (password sealed by package secrets, never in clear), its
// profile and mode; and each task with its transitions and whether the relay has it yet.
package devstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/agent/secrets"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
)

var (
	bucketDevices    = []byte("devices")
	bucketTasks      = []byte("tasks")
	bucketUnreported = []byte("tasks_unreported") // IDs of tasks whose latest state the relay lacks
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

// Task is a task the agent created, with whether the relay acknowledged its latest state.
type Task struct {
	linkapi.TaskReport
	Reported bool `json:"reported"`
}

// Store is the agent's database.
type Store struct {
	db  *bolt.DB
	box *secrets.Box
}

// Files of the store in an agent's data directory.
const (
	KeyFile = "device-key" // seals the device credentials (0600)
	DBFile  = "devices.db" // the devices and the tasks the agent made
)

// OpenDir opens the store of an agent's data directory: DBFile, with passwords sealed
// under the key in KeyFile (made on first use).
func OpenDir(dataDir string) (*Store, error) {
	box, err := secrets.OpenBox(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return nil, err
	}
	return Open(filepath.Join(dataDir, DBFile), box)
}

// Open opens (creating) the database at path; box seals device passwords.
func Open(path string, box *secrets.Box) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("devstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketDevices, bucketTasks, bucketUnreported} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
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

// PutTask records a task's state, to be reported to the relay.
func (s *Store) PutTask(t linkapi.TaskReport) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketUnreported).Put([]byte(t.ID), []byte{1}); err != nil {
			return err
		}
		return put(tx.Bucket(bucketTasks), t.ID, Task{TaskReport: t})
	})
}

// Task returns a stored task.
func (s *Store) Task(id string) (Task, error) {
	var t Task
	err := s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bucketTasks), id, &t) })
	return t, err
}

// Tasks lists tasks by ID; only those the relay does not have yet when unreported.
func (s *Store) Tasks(unreported bool) ([]linkapi.TaskReport, error) {
	var out []linkapi.TaskReport
	err := s.db.View(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		if unreported {
			return tx.Bucket(bucketUnreported).ForEach(func(k, _ []byte) error {
				var t Task
				if err := get(tasks, string(k), &t); err != nil {
					return err
				}
				if !t.Reported {
					out = append(out, t.TaskReport)
				}
				return nil
			})
		}
		return tasks.ForEach(func(_, v []byte) error {
			var t Task
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if !unreported || !t.Reported {
				out = append(out, t.TaskReport)
			}
			return nil
		})
	})
	return out, err
}

// MarkReported records that the relay acknowledged these task reports; a task that
// changed since is left to be reported again.
func (s *Store) MarkReported(reports []linkapi.TaskReport) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		for _, r := range reports {
			var t Task
			if err := get(b, r.ID, &t); err != nil {
				continue
			}
			if t.State == r.State && len(t.Transitions) == len(r.Transitions) {
				t.Reported = true
				if err := put(b, r.ID, t); err != nil {
					return err
				}
				if err := tx.Bucket(bucketUnreported).Delete([]byte(r.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// FailInterrupted ends tasks that were running when the agent stopped and cannot resume
// (onboarding needs the admin password, which is never stored).
func (s *Store) FailInterrupted(now time.Time) ([]linkapi.TaskReport, error) {
	var failed []linkapi.TaskReport
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		var ids []string
		if err := b.ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
			return err
		}
		slices.Sort(ids)
		for _, id := range ids {
			var t Task
			if err := get(b, id, &t); err != nil {
				return err
			}
			if linkapi.Final(t.State) {
				continue
			}
			const why = "the agent restarted before the task ended; onboard the device again"
			t.State, t.Detail, t.Reported = linkapi.TaskFailed, why, false
			t.Transitions = append(t.Transitions, linkapi.Transition{State: linkapi.TaskFailed, At: now, Detail: why})
			if err := put(b, id, t); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUnreported).Put([]byte(id), []byte{1}); err != nil {
				return err
			}
			failed = append(failed, t.TaskReport)
		}
		return nil
	})
	return failed, err
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
