package store

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	bolt "go.etcd.io/bbolt"
)

// User is a person who logs in with an e-mail address and a password.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"passwordHash"` // argon2id encoding from package auth
	CreatedAt    time.Time `json:"createdAt"`
}

// ErrBadEmail: the e-mail address does not parse.
var ErrBadEmail = errors.New("store: not an e-mail address")

// ValidEmail reports whether s is a bare e-mail address (no display name).
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// CreateUser adds a user; ErrExists if the e-mail address is taken.
func (s *Store) CreateUser(ctx context.Context, email, passwordHash string) (User, error) {
	var u User
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = createUser(tx, email, passwordHash, s.now())
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func createUser(tx *bolt.Tx, email, passwordHash string, now time.Time) (User, error) {
	if !ValidEmail(email) {
		return User{}, ErrBadEmail
	}
	byEmail := tx.Bucket(bucketUsersByEmail)
	if byEmail.Get(emailKey(email)) != nil {
		return User{}, ErrExists
	}
	u := User{ID: newID(prefixUser), Email: email, PasswordHash: passwordHash, CreatedAt: now.UTC()}
	if err := putJSON(tx.Bucket(bucketUsers), []byte(u.ID), u); err != nil {
		return User{}, err
	}
	return u, byEmail.Put(emailKey(email), []byte(u.ID))
}

// User returns a user by ID.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	var u User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketUsers), []byte(id), &u)
	})
	return u, err
}

// UserByEmail returns a user by e-mail address (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketUsersByEmail).Get(emailKey(email))
		if id == nil {
			return ErrNotFound
		}
		return getJSON(tx.Bucket(bucketUsers), id, &u)
	})
	return u, err
}

// CountUsers returns how many users exist; zero means a first start.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN
		return nil
	})
	return n, err
}

// SetPassword replaces a user's password hash and revokes every token of the user, so a
// reset also ends sessions someone else may hold.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		var u User
		if err := getJSON(users, []byte(userID), &u); err != nil {
			return err
		}
		u.PasswordHash = passwordHash
		if err := putJSON(users, []byte(userID), u); err != nil {
			return err
		}
		return revokeSubject(tx, userID)
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", userID, err)
	}
	return nil
}

// DeleteUser removes a user, their memberships and every token of theirs. It refuses
// with ErrLastAdmin when the user is the only admin of an organization.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		var u User
		if err := getJSON(users, []byte(userID), &u); err != nil {
			return err
		}
		orgs, err := deletePrefix(tx.Bucket(bucketMemberOrgs), prefixOf(userID))
		if err != nil {
			return err
		}
		for _, k := range orgs {
			org := string(k[len(userID)+1:])
			if err := removeMember(tx, org, userID); err != nil {
				return fmt.Errorf("organization %s: %w", org, err)
			}
		}
		if err := revokeSubject(tx, userID); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUsersByEmail).Delete(emailKey(u.Email)); err != nil {
			return err
		}
		return users.Delete([]byte(userID))
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", userID, err)
	}
	return nil
}
