package releasesig

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignVerifyAndKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release-key.pem")
	if _, err := LoadKey(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load a missing key: %v, want fs.ErrNotExist", err)
	}
	key, err := CreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	again, err := LoadKey(path)
	if err != nil || !again.Equal(key) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	sha := strings.Repeat("0f", 32)
	sig := Sign(key, sha, 1024)
	p := key.Public()
	pk, err := ParsePublicKey(MarshalPublicKey(p.(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(pk, sha, 1024, sig) {
		t.Fatal("a good signature does not verify")
	}
	for name, ok := range map[string]bool{
		"other size": Verify(pk, sha, 1025, sig),
		"other hash": Verify(pk, strings.Repeat("1f", 32), 1024, sig),
		"no key":     Verify(nil, sha, 1024, sig),
	} {
		if ok {
			t.Errorf("%s verified", name)
		}
	}
	if _, err := ParsePublicKey([]byte("junk")); err == nil {
		t.Error("junk parsed as a key")
	}
}
