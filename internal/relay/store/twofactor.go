package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/seal"
)

// TwoFactor is a user's two-step verification state: a TOTP secret (RFC 6238) and the
// hashes of the unused recovery codes.
type TwoFactor struct {
	// Secret is the base32 TOTP key, in clear in memory only. The relay must compute
	// codes from it, so it cannot be hashed; the store seals it (Options.Seal) bound to
	// the user's ID before writing it and opens it when it reads the user, so that a copy
	// of the database file alone cannot make codes.
	Secret string `json:"-"`
	// Enabled: the user confirmed a code made from Secret; until then the secret is
	// only pending and sign-in does not ask for codes.
	Enabled bool `json:"enabled"`
	// LastStep is the TOTP time step of the last code accepted, so a code is used once.
	LastStep int64 `json:"lastStep,omitempty"`
	// Recovery holds SHA-256 hashes (package auth) of the recovery codes not yet used.
	Recovery [][]byte `json:"recovery,omitempty"`

	// sealed is the stored, sealed secret; sealedOf the Secret it holds, so that a
	// record written back unchanged is not sealed again.
	sealed   []byte
	sealedOf string
	// clear is a secret a relay before sealing stored in clear; Open seals it.
	clear string
}

// storedTwoFactor is TwoFactor as the users bucket holds it.
type storedTwoFactor struct {
	Sealed []byte `json:"sealedSecret,omitempty"`
	// Clear is where relays before sealing kept the secret; written only by a store
	// without a key, which keeps what it read.
	Clear    string   `json:"secret,omitempty"`
	Enabled  bool     `json:"enabled"`
	LastStep int64    `json:"lastStep,omitempty"`
	Recovery [][]byte `json:"recovery,omitempty"`
}

// MarshalJSON writes the stored form: never Secret, only what the store sealed.
func (tf TwoFactor) MarshalJSON() ([]byte, error) {
	return json.Marshal(storedTwoFactor{Sealed: tf.sealed, Clear: tf.clear, Enabled: tf.Enabled, LastStep: tf.LastStep, Recovery: tf.Recovery})
}

// UnmarshalJSON reads the stored form; the store opens the secret afterwards.
func (tf *TwoFactor) UnmarshalJSON(raw []byte) error {
	var st storedTwoFactor
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	*tf = TwoFactor{Enabled: st.Enabled, LastStep: st.LastStep, Recovery: st.Recovery, sealed: st.Sealed, clear: st.Clear}
	return nil
}

// ErrSealKey: a sealed two-step verification secret does not open with the store's key
// (Options.Seal): the key file is not the one the secrets were sealed with.
var ErrSealKey = errors.New("store: two-step verification secrets do not open with this key")

// ErrNoSealKey: a two-step verification secret was to be written by a store opened
// without a key (Options.Seal), which would have to write it in clear.
var ErrNoSealKey = errors.New("store: no key to seal two-step verification secrets with")

// secretName binds a user's sealed secret to the user, so that it cannot be moved to
// another account's record.
func secretName(userID string) string { return "totp/" + userID }

// openSecret fills in u's TwoFactor.Secret from what was stored. Without a key a sealed
// secret stays sealed (Secret empty): only the relay itself needs it.
func (s *Store) openSecret(u *User) error {
	tf := u.TwoFactor
	switch {
	case tf == nil:
	case tf.sealed != nil && s.seal != nil:
		p, err := s.seal.Open(tf.sealed, secretName(u.ID))
		if err != nil {
			return fmt.Errorf("user %s: %w: %w", u.ID, ErrSealKey, err)
		}
		tf.Secret, tf.sealedOf = string(p), string(p)
	case tf.clear != "":
		tf.Secret = tf.clear
	}
	return nil
}

// getUser reads a user with the two-step verification secret opened.
func (s *Store) getUser(tx *bolt.Tx, id []byte) (User, error) {
	var u User
	if err := getJSON(tx.Bucket(bucketUsers), id, &u); err != nil {
		return User{}, err
	}
	return u, s.openSecret(&u)
}

// putUser writes a user, sealing its two-step verification secret when it changed.
func (s *Store) putUser(tx *bolt.Tx, u User) error {
	if tf := u.TwoFactor; tf != nil && tf.Secret != "" && (tf.sealed == nil || tf.Secret != tf.sealedOf) {
		if s.seal == nil {
			if tf.Secret != tf.clear {
				return fmt.Errorf("user %s: %w", u.ID, ErrNoSealKey)
			}
			// Kept as an older relay wrote it, until a relay with the key opens the store.
		} else {
			c := *tf
			c.sealed, c.sealedOf, c.clear = s.seal.Seal([]byte(tf.Secret), secretName(u.ID)), tf.Secret, ""
			u.TwoFactor = &c
		}
	}
	return putJSON(tx.Bucket(bucketUsers), []byte(u.ID), u)
}

// sealSecrets is part of Open with a key: it seals the secrets older relays stored in
// clear and checks that every sealed one opens, so that a wrong key file stops the
// relay at start, not each user at sign-in. It returns how many it sealed.
func sealSecrets(tx *bolt.Tx, box *seal.Box) (int, error) {
	users := tx.Bucket(bucketUsers)
	var (
		clear   []User
		badKey  int
		firstID string
	)
	err := users.ForEach(func(k, v []byte) error {
		// Most users never enrolled: skip decoding their records.
		if !bytes.Contains(v, []byte(`"twoFactor"`)) {
			return nil
		}
		var u User
		if err := decode(v, &u); err != nil {
			return fmt.Errorf("user %s: %w", k, err)
		}
		switch tf := u.TwoFactor; {
		case tf == nil:
		case tf.sealed != nil:
			if _, err := box.Open(tf.sealed, secretName(u.ID)); err != nil {
				if badKey == 0 {
					firstID = u.ID
				}
				badKey++
			}
		case tf.clear != "":
			clear = append(clear, u)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if badKey > 0 {
		return 0, fmt.Errorf("%w: %d users' secrets (the first: %s)", ErrSealKey, badKey, firstID)
	}
	for _, u := range clear {
		tf := *u.TwoFactor
		tf.sealed, tf.clear = box.Seal([]byte(u.TwoFactor.clear), secretName(u.ID)), ""
		u.TwoFactor = &tf
		if err := putJSON(users, []byte(u.ID), u); err != nil {
			return 0, err
		}
	}
	return len(clear), nil
}

// UpdateUser changes a user in one transaction: fn sees the stored user and may change
// it (not its ID, e-mail address or password, which have their own methods); an error
// from fn aborts the change and is returned.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error) {
	var u User
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if u, err = s.getUser(tx, []byte(id)); err != nil {
			return err
		}
		keep := u
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.Email, u.PasswordHash, u.CreatedAt = keep.ID, keep.Email, keep.PasswordHash, keep.CreatedAt
		return s.putUser(tx, u)
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	return u, nil
}

// ResetTwoFactor turns two-step verification off for a user, without a code: for an
// operator whose user lost their authenticator and recovery codes, or whose relay lost
// its key file. It reports whether it was on (or pending). It needs no key.
func (s *Store) ResetTwoFactor(ctx context.Context, userID string) (bool, error) {
	var was bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var u User
		if err := getJSON(tx.Bucket(bucketUsers), []byte(userID), &u); err != nil {
			return err
		}
		was = u.TwoFactor != nil
		u.TwoFactor = nil
		return putJSON(tx.Bucket(bucketUsers), []byte(userID), u)
	})
	if err != nil {
		return false, fmt.Errorf("reset two-step verification of %s: %w", userID, err)
	}
	return was, nil
}

// ResetAllTwoFactor is ResetTwoFactor for every user; it returns how many had it.
func (s *Store) ResetAllTwoFactor(ctx context.Context) (int, error) {
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		var reset []User
		err := users.ForEach(func(_, v []byte) error {
			var u User
			if err := decode(v, &u); err != nil {
				return err
			}
			if u.TwoFactor != nil {
				u.TwoFactor = nil
				reset = append(reset, u)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range reset {
			if err := putJSON(users, []byte(u.ID), u); err != nil {
				return err
			}
		}
		n = len(reset)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reset two-step verification: %w", err)
	}
	return n, nil
}
