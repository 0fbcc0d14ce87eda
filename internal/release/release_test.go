package release

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignVerifyAndKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release-key.pem")
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateKey(path)
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
