package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device-key")
	b, err := OpenBox(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file %v, %v: want 0600 and %d bytes", fi, err, KeySize)
	}
	secret := []byte("agent-password-123")
	sealed := b.Seal(secret, "ACCC8E000001")
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value holds the secret in clear text")
	}
	again, err := OpenBox(path) // the same key after a restart
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed, "ACCC8E000001"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := again.Open(sealed, "ACCC8E000002"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened under another name: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := again.Open(sealed, "ACCC8E000001"); !errors.Is(err, ErrOpen) {
		t.Fatalf("a tampered value opened: %v", err)
	}
	other, _ := OpenBox(filepath.Join(t.TempDir(), "other-key"))
	if _, err := other.Open(b.Seal(secret, "x"), "x"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := b.Open([]byte("short"), "x"); !errors.Is(err, ErrOpen) {
		t.Fatalf("short input: %v", err)
	}
}
