package seal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device-key")
	b, created, err := OpenBox(path)
	if err != nil || !created {
		t.Fatalf("first open: created %v, %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file %v, %v: want 0600 and %d bytes", fi, err, KeySize)
	}
	secret := []byte("agent-password-123")
	sealed := b.Seal(secret, "ACCC8E000001")
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value holds the secret in clear text")
	}
	again, created, err := OpenBox(path) // the same key after a restart
	if err != nil || created {
		t.Fatalf("second open: created %v, %v", created, err)
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
	other, _, _ := OpenBox(filepath.Join(t.TempDir(), "other-key"))
	if _, err := other.Open(b.Seal(secret, "x"), "x"); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := b.Open([]byte("short"), "x"); !errors.Is(err, ErrOpen) {
		t.Fatalf("short input: %v", err)
	}
}

// A key file that is missing, not a key or readable by others is refused with an error
// that says which file and what to do, never used.
func TestLoadBoxRefuses(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, err := LoadBox(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key file: %v", err)
	}
	for _, size := range []int{0, KeySize - 1, KeySize + 1} {
		path := filepath.Join(dir, "short")
		if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadBox(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "32 bytes") {
			t.Fatalf("key file of %d bytes: %v", size, err)
		}
		if _, _, err := OpenBox(path); err == nil {
			t.Fatalf("OpenBox replaced or took a key file of %d bytes", size)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	path := filepath.Join(dir, "key")
	if _, _, err := OpenBox(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := OpenBox(path)
		if !errors.Is(err, ErrKeyMode) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("key file of mode %04o: %v", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBox(path); err != nil {
		t.Fatalf("read-only key file of its owner: %v", err)
	}
}
