package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// legacyStore writes a database as a relay before the canonical address key did: the
// e-mail index keyed by the lower-cased address, schema "1", with the given users (the
// later ones created later).
func legacyStore(t *testing.T, emails ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte("1")); err != nil {
			return err
		}
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, e := range emails {
			u := User{ID: newID(prefixUser), Email: e, PasswordHash: "x", CreatedAt: at.Add(time.Duration(i) * time.Hour)}
			if err := putJSON(tx.Bucket(bucketUsers), []byte(u.ID), u); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsersByEmail).Put([]byte(strings.ToLower(e)), []byte(u.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenMigratesTheAddressIndex: a database from before keeps working: its users are
// found under the canonical key (also spellings the old key did not join), and two
// accounts that are the same under the new rule leave the earlier one as the owner of
// the address, the later one kept but no longer found by address.
func TestOpenMigratesTheAddressIndex(t *testing.T) {
	path := legacyStore(t, "Admin@Example.com", "stra\u00dfe@example.com", "strasse@example.com", "\uff41\uff44\uff4d\uff49\uff4e@example.com")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check after migration: %v", err)
	}
	for login, want := range map[string]string{
		"admin@example.com":   "Admin@Example.com",
		"STRASSE@EXAMPLE.COM": "stra\u00dfe@example.com",
		"straße@example.com":  "stra\u00dfe@example.com",
	} {
		u, err := s.UserByEmail(ctx, login)
		if err != nil || u.Email != want {
			t.Errorf("UserByEmail(%q) = %q, %v; want %q", login, u.Email, err, want)
		}
	}
	if n, _ := s.CountUsers(ctx); n != 4 {
		t.Errorf("%d users after migration, want all 4 kept", n)
	}
	if _, err := s.CreateUser(ctx, "ADMIN@example.com", "x"); !errors.Is(err, ErrExists) {
		t.Errorf("create a look-alike after migration: %v", err)
	}
	// The shadowed accounts can still be deleted, and the index stays consistent.
	var shadowed []User
	_ = s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u User
			_ = decode(v, &u)
			if u.Email == "strasse@example.com" || strings.HasPrefix(u.Email, "\uff41") {
				shadowed = append(shadowed, u)
			}
			return nil
		})
	})
	for _, u := range shadowed {
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(shadowed) != 2 {
		t.Fatalf("shadowed accounts %+v", shadowed)
	}
	if _, err := s.UserByEmail(ctx, "strasse@example.com"); err != nil {
		t.Errorf("deleting a shadowed account took the address from its owner: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}
	s.Close()
	// Reopening does not migrate again.
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Check(ctx); err != nil {
		t.Error(err)
	}
}

func TestCreateUserRefusesLookAlikes(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, "admin@localhost", "x"))
	for _, e := range []string{"admin@localhost\u200b", "ADMIN@localhost", "\uff41\uff44\uff4d\uff49\uff4e@localhost", "admin@localhost\u202e", " admin@localhost"} {
		if _, err := s.CreateUser(ctx, e, "x"); !errors.Is(err, ErrExists) && !errors.Is(err, ErrBadEmail) {
			t.Errorf("CreateUser(%q): %v", e, err)
		}
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("%d users", n)
	}
}
