package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Secret kinds: the prefix tells a person (and a secret scanner) what a leaked string is.
const (
	PrefixAccessToken     = "cct_" // bearer access token
	PrefixClientSecret    = "ccs_" // application client secret
	PrefixEnrollmentToken = "cce_" // one-time edge host enrollment token
	PrefixInvitation      = "cci_" // one-time invitation code
)

// secretBytes is the entropy of every secret: 256 bits.
const secretBytes = 32

// NewSecret returns a fresh random secret with the given prefix and its hash, which is
// all that is stored.
func NewSecret(prefix string) (secret string, hash [32]byte) {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+); it aborts the program instead
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a secret made by NewSecret.
func HashSecret(secret string) [32]byte {
	return sha256.Sum256([]byte(secret))
}

// HasPrefix reports whether s looks like a secret of the given kind; a cheap filter
// before a store lookup.
func HasPrefix(s, prefix string) bool {
	return strings.HasPrefix(s, prefix) && len(s) == len(prefix)+base64.RawURLEncoding.EncodedLen(secretBytes)
}

// Equal compares two stored hashes in constant time.
func Equal(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }
