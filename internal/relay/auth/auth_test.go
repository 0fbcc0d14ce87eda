package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fast keeps the tests quick; the encoding carries the parameters, so this exercises the
// same code as DefaultParams.
var fast = Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fast, 2)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q", enc)
	}
	if err := h.Verify(ctx, enc, "correct horse"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := h.Verify(ctx, enc, "wrong horse"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: %v", err)
	}
	if err := h.Verify(ctx, "", "anything"); !errors.Is(err, ErrMismatch) {
		t.Errorf("unknown user: %v", err)
	}
	enc2, _ := h.Hash(ctx, "correct horse")
	if enc2 == enc {
		t.Error("two hashes of one password are equal: salt missing")
	}
	// A hash made with other parameters still verifies.
	other, _ := NewHasher(Params{Time: 2, Memory: 128, Threads: 2, KeyLen: 16, SaltLen: 8}, 1).Hash(ctx, "correct horse")
	if err := h.Verify(ctx, other, "correct horse"); err != nil {
		t.Errorf("hash with other params: %v", err)
	}
}

func TestPolicyAndBadHashes(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fast, 1)
	if _, err := h.Hash(ctx, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("short password: %v", err)
	}
	for _, bad := range []string{
		"x", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if err := h.Verify(ctx, bad, "password"); !errors.Is(err, ErrBadHash) {
			t.Errorf("Verify(%q) = %v, want ErrBadHash", bad, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h.slots <- struct{}{} // occupy the only slot
	if _, err := h.Hash(cctx, "long enough"); !errors.Is(err, context.Canceled) {
		t.Errorf("hash with cancelled context and no slot: %v", err)
	}
}

func TestSecret(t *testing.T) {
	s, h := NewSecret(PrefixAccessToken)
	if !HasPrefix(s, PrefixAccessToken) || HasPrefix(s, PrefixClientSecret) {
		t.Errorf("prefix check on %q", s)
	}
	if !Equal(h, HashSecret(s)) {
		t.Error("hash not reproducible")
	}
	s2, h2 := NewSecret(PrefixAccessToken)
	if s == s2 || Equal(h, h2) {
		t.Error("two secrets are equal")
	}
}
