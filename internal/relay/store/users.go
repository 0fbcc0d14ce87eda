package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/ident"
)

// User is a person who logs in with an e-mail address and a password.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"passwordHash"` // argon2id encoding from package auth
	CreatedAt    time.Time `json:"createdAt"`
	// TwoFactor is the user's two-step verification (TOTP); nil: never enrolled.
	TwoFactor *TwoFactor `json:"twoFactor,omitempty"`
}

// ErrBadEmail: the e-mail address is not one ident.CheckEmail accepts.
var ErrBadEmail = errors.New("store: not an acceptable e-mail address")

// CreateUser adds a user; ErrExists if the e-mail address is taken (under ident.Key).
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
	if err := ident.CheckEmail(email); err != nil {
		return User{}, fmt.Errorf("%w: %w", ErrBadEmail, err)
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
		var err error
		u, err = s.getUser(tx, []byte(id))
		return err
	})
	return u, err
}

// UserByEmail returns a user by e-mail address, compared under ident.Key.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketUsersByEmail).Get(emailKey(email))
		if id == nil {
			return ErrNotFound
		}
		var err error
		u, err = s.getUser(tx, id)
		return err
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
		byEmail := tx.Bucket(bucketUsersByEmail)
		for _, k := range [][]byte{emailKey(u.Email), lookAlikeKey(userID)} {
			// A look-alike account must not take its address's owner's entry along.
			if string(byEmail.Get(k)) != userID {
				continue
			}
			if err := byEmail.Delete(k); err != nil {
				return err
			}
		}
		return users.Delete([]byte(userID))
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", userID, err)
	}
	return nil
}

// reindexEmails rebuilds users_by_email under emailKey. Accounts are taken oldest
// first, so when two are the same under ident.Key (possible with the lower-cased key of
// schema 1: "straße" and "strasse", full-width letters) the earlier one keeps the
// address and the later one is kept under lookAlikeKey.
func reindexEmails(tx *bolt.Tx) error {
	var users []User
	err := tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		var u User
		if err := decode(v, &u); err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool {
		if !users[i].CreatedAt.Equal(users[j].CreatedAt) {
			return users[i].CreatedAt.Before(users[j].CreatedAt)
		}
		return users[i].ID < users[j].ID
	})
	if err := tx.DeleteBucket(bucketUsersByEmail); err != nil {
		return err
	}
	byEmail, err := tx.CreateBucket(bucketUsersByEmail)
	if err != nil {
		return err
	}
	for _, u := range users {
		k := emailKey(u.Email)
		if byEmail.Get(k) != nil {
			k = lookAlikeKey(u.ID)
		}
		if err := byEmail.Put(k, []byte(u.ID)); err != nil {
			return err
		}
	}
	return nil
}
