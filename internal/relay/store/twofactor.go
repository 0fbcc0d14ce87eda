package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// TwoFactor is a user's two-step verification state: a TOTP secret (RFC 6238) and the
// hashes of the unused recovery codes.
type TwoFactor struct {
	// Secret is the base32 TOTP key. It is kept in clear: the relay must compute codes
	// from it, and it is worth nothing without the password.
	Secret string `json:"secret"`
	// Enabled: the user confirmed a code made from Secret; until then the secret is
	// only pending and sign-in does not ask for codes.
	Enabled bool `json:"enabled"`
	// LastStep is the TOTP time step of the last code accepted, so a code is used once.
	LastStep int64 `json:"lastStep,omitempty"`
	// Recovery holds SHA-256 hashes (package auth) of the recovery codes not yet used.
	Recovery [][]byte `json:"recovery,omitempty"`
}

// UpdateUser changes a user in one transaction: fn sees the stored user and may change
// it (not its ID, e-mail address or password, which have their own methods); an error
// from fn aborts the change and is returned.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error) {
	var u User
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if err := getJSON(b, []byte(id), &u); err != nil {
			return err
		}
		keep := u
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.Email, u.PasswordHash, u.CreatedAt = keep.ID, keep.Email, keep.PasswordHash, keep.CreatedAt
		return putJSON(b, []byte(id), u)
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	return u, nil
}
