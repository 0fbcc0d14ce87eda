package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry is one recorded call (an EdgeLink request to a device, a failed sign-in) or
// change of the inventory (a claim, a proof, a move, a removal).
type AuditEntry struct {
	At        time.Time     `json:"at"`
	Org       string        `json:"org"`
	Principal string        `json:"principal"` // user or client ID
	Action    string        `json:"action"`    // "edgelink", "sign-in-failed", or one of the Audit... actions
	Serial    string        `json:"serial,omitempty"`
	Method    string        `json:"method,omitempty"`
	Path      string        `json:"path,omitempty"`
	Status    int           `json:"status"`
	Bytes     int64         `json:"bytes,omitempty"`
	Duration  time.Duration `json:"duration"`
	Source    string        `json:"source,omitempty"` // the caller's address (sign-ins)
	// Detail says what happened, for entries other than EdgeLink calls.
	Detail string `json:"detail,omitempty"`
}

// Audit actions of the device inventory.
const (
	// AuditDeviceRegister: a light registration (serial and facts only).
	AuditDeviceRegister = "device.register"
	// AuditDeviceClaim: a claim with an owner authentication key, taken or refused.
	AuditDeviceClaim = "device.claim"
	// AuditDeviceEnroll: an on-device agent's proof of the key, taken or refused.
	AuditDeviceEnroll = "device.enroll"
	// AuditDeviceProven: the organization proved the device is its own.
	AuditDeviceProven = "device.proven"
	// AuditDeviceRemoved: the organization's unproven record went because another
	// organization proved the device is its own.
	AuditDeviceRemoved = "device.removed"
	// AuditDeviceMove: the device moved from one edge host to another.
	AuditDeviceMove = "device.move"
	// AuditDeviceDelete: a member deleted the device.
	AuditDeviceDelete = "device.delete"
)

// AppendAudit records entries in one transaction. Keys are the organization, the time
// and a sequence number, so an organization's log reads in time order.
func (s *Store) AppendAudit(ctx context.Context, entries []AuditEntry) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return appendAuditTx(tx, entries...) })
}

// appendAuditTx records entries within a transaction, so that a change and its entry
// are stored together.
func appendAuditTx(tx *bolt.Tx, entries ...AuditEntry) error {
	b := tx.Bucket(bucketAudit)
	for _, e := range entries {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := make([]byte, 0, len(e.Org)+1+8+8)
		key = append(key, e.Org+"/"...)
		key = binary.BigEndian.AppendUint64(key, uint64(e.At.UnixNano()))
		key = binary.BigEndian.AppendUint64(key, seq)
		if err := putJSON(b, key, e); err != nil {
			return err
		}
	}
	return nil
}

// AuditFilter selects entries; empty fields match everything.
type AuditFilter struct {
	Serial, Principal, Action string
	// Since and Until bound the entries' time: Since included, Until excluded.
	Since, Until time.Time
	// Text matches entries whose principal, action, serial, method, path, source or
	// detail contains it, ignoring case.
	Text string
}

func (f AuditFilter) match(e AuditEntry) bool {
	if f.Serial != "" && !strings.EqualFold(e.Serial, f.Serial) || f.Principal != "" && e.Principal != f.Principal ||
		f.Action != "" && e.Action != f.Action {
		return false
	}
	if f.Text == "" {
		return true
	}
	text := strings.ToLower(f.Text)
	for _, s := range []string{e.Principal, e.Action, e.Serial, e.Method, e.Path, e.Source, e.Detail} {
		if strings.Contains(strings.ToLower(s), text) {
			return true
		}
	}
	return false
}

// auditScanLimit bounds the entries one page reads, so that a search matching little in
// a long log answers in bounded time: the page then ends early, with a cursor to go on.
const auditScanLimit = 100000

// Audit lists an organization's entries matching f, newest first, up to limit, older than
// cursor (empty: from the newest). next is the cursor of the following page, empty when
// no entry is left; a page may hold fewer than limit entries and still have a next one
// (see auditScanLimit). A cursor is opaque to callers.
func (s *Store) Audit(ctx context.Context, org string, f AuditFilter, cursor string, limit int) (_ []AuditEntry, next string, _ error) {
	prefix := prefixOf(org)
	// Start at the cursor's key (excluded), or after the organization's last key, and
	// walk back.
	start := append(append([]byte{}, prefix...), 0xff)
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) != 16 {
			return nil, "", ErrBadCursor
		}
		start = append(append([]byte{}, prefix...), raw...)
	}
	if !f.Until.IsZero() {
		// Keys begin with the entry's time: start below Until.
		until := binary.BigEndian.AppendUint64(append([]byte{}, prefix...), uint64(f.Until.UnixNano()))
		if bytes.Compare(until, start) < 0 {
			start = until
		}
	}
	limit = max(limit, 1)
	out := []AuditEntry{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if k, _ = c.Seek(start); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		var last []byte // the key of the last entry read: the next page starts below it
		for scanned := 0; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
			if len(out) == limit || scanned == auditScanLimit {
				next = base64.RawURLEncoding.EncodeToString(last[len(prefix):])
				return nil
			}
			scanned++
			last = k
			var e AuditEntry
			if err := decode(v, &e); err != nil {
				return err
			}
			if !f.Since.IsZero() && e.At.Before(f.Since) {
				break
			}
			if f.match(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("audit log: %w", err)
	}
	return out, next, nil
}
