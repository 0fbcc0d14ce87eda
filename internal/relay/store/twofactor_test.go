package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/seal"
)

// totpSecret is a base32 TOTP key, long enough not to appear in a file by chance.
const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func newBox(t *testing.T) *seal.Box {
	t.Helper()
	b, _, err := seal.OpenBox(filepath.Join(t.TempDir(), "secrets-key"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fileHolds reports whether the database file's bytes contain s anywhere, live records
// and the pages bbolt freed alike.
func fileHolds(t *testing.T, path, s string) bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(raw, []byte(s))
}

// A TOTP secret is never in the database file, yet the relay reads it back after a
// restart; with another key the store does not open, and tools without a key keep the
// sealed secret as it is.
func TestTwoFactorSecretSealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	box := newBox(t)
	s, err := Open(path, Options{Seal: box})
	if err != nil {
		t.Fatal(err)
	}
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	must[User](t)(s.UpdateUser(ctx, u.ID, func(u *User) error {
		u.TwoFactor = &TwoFactor{Secret: totpSecret}
		return nil
	}))
	// Each sign-in writes the record again (LastStep); the secret stays what it was.
	for step := range int64(3) {
		must[User](t)(s.UpdateUser(ctx, u.ID, func(u *User) error {
			u.TwoFactor.Enabled, u.TwoFactor.LastStep = true, step
			return nil
		}))
	}
	if got := must[User](t)(s.UserByEmail(ctx, "a@example.com")); got.TwoFactor == nil || got.TwoFactor.Secret != totpSecret {
		t.Fatalf("read back %+v", got.TwoFactor)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fileHolds(t, path, totpSecret) {
		t.Fatal("the database file holds the TOTP secret in clear")
	}

	s, err = Open(path, Options{Seal: box})
	if err != nil {
		t.Fatal(err)
	}
	got := must[User](t)(s.User(ctx, u.ID))
	if tf := got.TwoFactor; tf == nil || tf.Secret != totpSecret || !tf.Enabled || tf.LastStep != 2 {
		t.Fatalf("after a restart: %+v", tf)
	}
	s.Close()

	if _, err := Open(path, Options{Seal: newBox(t)}); !errors.Is(err, ErrSealKey) {
		t.Fatalf("opened with another key: %v", err)
	}

	// A tool without the key (relay admin) reads the user and writes it back; the
	// sealed secret survives, and a new secret cannot be written in clear.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := must[User](t)(s.User(ctx, u.ID)); got.TwoFactor == nil || got.TwoFactor.Secret != "" || !got.TwoFactor.Enabled {
		t.Fatalf("without the key: %+v", got.TwoFactor)
	}
	if err := s.SetPassword(ctx, u.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	must[User](t)(s.UpdateUser(ctx, u.ID, func(u *User) error { u.TwoFactor.LastStep = 7; return nil }))
	_, err = s.UpdateUser(ctx, u.ID, func(u *User) error {
		u.TwoFactor = &TwoFactor{Secret: "KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU"}
		return nil
	})
	if !errors.Is(err, ErrNoSealKey) {
		t.Fatalf("a new secret without a key: %v", err)
	}
	s.Close()
	s, err = Open(path, Options{Seal: box})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := must[User](t)(s.User(ctx, u.ID)); got.TwoFactor == nil || got.TwoFactor.Secret != totpSecret || got.TwoFactor.LastStep != 7 {
		t.Fatalf("after a tool without the key wrote the user: %+v", got.TwoFactor)
	}
}

// A sealed secret is bound to its user: copied into another user's record it does not
// open, so whoever can write the database cannot give themselves someone's secret.
func TestTwoFactorSecretBoundToUser(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	box := newBox(t)
	s, err := Open(path, Options{Seal: box})
	if err != nil {
		t.Fatal(err)
	}
	a := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	b := must[User](t)(s.CreateUser(ctx, "b@example.com", "h"))
	must[User](t)(s.UpdateUser(ctx, a.ID, func(u *User) error { u.TwoFactor = &TwoFactor{Secret: totpSecret}; return nil }))
	err = s.db.Update(func(tx *bolt.Tx) error {
		var ua, ub User
		if err := getJSON(tx.Bucket(bucketUsers), []byte(a.ID), &ua); err != nil {
			return err
		}
		if err := getJSON(tx.Bucket(bucketUsers), []byte(b.ID), &ub); err != nil {
			return err
		}
		ub.TwoFactor = ua.TwoFactor
		return putJSON(tx.Bucket(bucketUsers), []byte(b.ID), ub)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, b.ID); !errors.Is(err, ErrSealKey) {
		t.Fatalf("a secret moved to another user: %v", err)
	}
	s.Close()
	if _, err := Open(path, Options{Seal: box}); !errors.Is(err, ErrSealKey) {
		t.Fatalf("opened a store with a moved secret: %v", err)
	}
}

// A database an older relay wrote, with TOTP secrets in clear, has them sealed on the
// first open with a key: no longer in the file's bytes (not even in freed pages), and
// still the users' secrets. A store opened without a key leaves them as they were.
func TestOpenSealsClearSecrets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"usr_a": totpSecret, "usr_b": "KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU"}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte(schemaVersion)); err != nil {
			return err
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, id := range []string{"usr_a", "usr_b", "usr_c"} {
			// The record as relays before sealing wrote it.
			raw := `{"id":"` + id + `","email":"` + id + `@example.com","passwordHash":"h","createdAt":"` + at.Format(time.RFC3339) + `"`
			if s := secrets[id]; s != "" {
				raw += `,"twoFactor":{"secret":"` + s + `","enabled":true,"lastStep":5,"recovery":["AQID"]}`
			}
			raw += "}"
			if err := tx.Bucket(bucketUsers).Put([]byte(id), []byte(raw)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsersByEmail).Put(emailKey(id+"@example.com"), []byte(id)); err != nil {
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

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "usr_a", "h2"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !fileHolds(t, path, totpSecret) {
		t.Fatal("a store without a key lost a clear secret")
	}

	box := newBox(t)
	s, err = Open(path, Options{Seal: box})
	if err != nil {
		t.Fatal(err)
	}
	for id, secret := range secrets {
		u := must[User](t)(s.User(ctx, id))
		if tf := u.TwoFactor; tf == nil || tf.Secret != secret || !tf.Enabled || tf.LastStep != 5 || len(tf.Recovery) != 1 {
			t.Fatalf("%s after sealing: %+v", id, tf)
		}
	}
	if u := must[User](t)(s.User(ctx, "usr_c")); u.TwoFactor != nil {
		t.Fatalf("usr_c got two-step verification: %+v", u.TwoFactor)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for id, secret := range secrets {
		if fileHolds(t, path, secret) {
			t.Fatalf("the file still holds %s's secret in clear", id)
		}
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rewrite left its file: %v", err)
	}
	s, err = Open(path, Options{Seal: box}) // and again: nothing left to seal
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u := must[User](t)(s.User(ctx, "usr_b")); u.TwoFactor.Secret != secrets["usr_b"] {
		t.Fatalf("usr_b on the next open: %+v", u.TwoFactor)
	}
}

// An operator turns two-step verification off without the key: for one user, or for
// all when the key is lost.
func TestResetTwoFactor(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	s, err := Open(path, Options{Seal: newBox(t)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u := must[User](t)(s.CreateUser(ctx, e, "h"))
		ids = append(ids, u.ID)
	}
	for _, id := range ids[:2] {
		must[User](t)(s.UpdateUser(ctx, id, func(u *User) error { u.TwoFactor = &TwoFactor{Secret: totpSecret, Enabled: true}; return nil }))
	}
	s.Close()

	s, err = Open(path, Options{}) // the key is lost
	if err != nil {
		t.Fatal(err)
	}
	if was := must[bool](t)(s.ResetTwoFactor(ctx, ids[0])); !was {
		t.Fatal("a's two-step verification was not on")
	}
	if was := must[bool](t)(s.ResetTwoFactor(ctx, ids[2])); was {
		t.Fatal("c's two-step verification was on")
	}
	if n := must[int](t)(s.ResetAllTwoFactor(ctx)); n != 1 {
		t.Fatalf("reset all: %d users, want 1 (b)", n)
	}
	s.Close()
	s, err = Open(path, Options{Seal: newBox(t)}) // a new key: nothing sealed is left
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range ids {
		if u := must[User](t)(s.User(ctx, id)); u.TwoFactor != nil {
			t.Fatalf("%s still has two-step verification: %+v", id, u.TwoFactor)
		}
	}
}
