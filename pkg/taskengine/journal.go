package taskengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketTasks = []byte("tasks")

// ErrNotFound: the journal has no task of that ID.
var ErrNotFound = errors.New("taskengine: no such task")

// journal is the bbolt file every state change is written to before the engine acts
// on it, so that a crash at any moment leaves a record to resume from.
type journal struct {
	db *bolt.DB
}

func openJournal(path string) (*journal, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("taskengine: open journal %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketTasks)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("taskengine: %w", err)
	}
	// Updates of concurrent tasks share a transaction; a lone update waits at most this
	// long for company.
	db.MaxBatchDelay = 2 * time.Millisecond
	return &journal{db: db}, nil
}

func (j *journal) close() error { return j.db.Close() }

func (j *journal) get(id string) (Record, error) {
	var r Record
	err := j.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketTasks).Get([]byte(id))
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &r)
	})
	return r, err
}

// update changes a record through fn inside one transaction; fn returning false writes
// nothing. Concurrent updates are batched into one transaction (one fsync), which is
// what lets a hundred tasks journal their steps at once; fn may therefore run more than
// once and must only depend on the record it is given.
func (j *journal) update(id string, fn func(r *Record, exists bool) (bool, error)) (Record, error) {
	var out Record
	err := j.db.Batch(func(tx *bolt.Tx) error {
		out = Record{}
		b := tx.Bucket(bucketTasks)
		var r Record
		raw := b.Get([]byte(id))
		if raw != nil {
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
		}
		write, err := fn(&r, raw != nil)
		if err != nil {
			return err
		}
		out = r
		if !write {
			return nil
		}
		if r.Seq == 0 {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			r.Seq = seq
			out.Seq = seq
		}
		enc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), enc)
	})
	return out, err
}

// updateMany changes several records in one transaction (one fsync); fn returning false
// leaves a record as it is. Missing records are skipped.
func (j *journal) updateMany(ids []string, fn func(r *Record) bool) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		for _, id := range ids {
			raw := b.Get([]byte(id))
			if raw == nil {
				continue
			}
			var r Record
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			if !fn(&r) {
				continue
			}
			enc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(id), enc); err != nil {
				return err
			}
		}
		return nil
	})
}

// all lists every record for which keep is true.
func (j *journal) all(keep func(Record) bool) ([]Record, error) {
	var out []Record
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(_, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if keep(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}
