// Package oak turns a device's owner authentication key (OAK, printed on the box and
// readable over VAPIX by an agent on the device) into what the relay stores and into the
// proof an on-device agent sends when it enrolls.
//
// The relay never stores the OAK itself. When a user claims a device it keeps
//
//	key = argon2id(normalized OAK, salt = "camcloud-oak-v1:" + SERIAL)
//
// and at enrollment the agent, which read the OAK from its camera, derives the same key and
// sends
//
//	proof = HMAC-SHA256(key, "camcloud-oak-proof-v1" 0 SERIAL 0 nonce 0 binding)
//
// where nonce is a fresh challenge from the relay (so a proof cannot be replayed) and
// binding is the SHA-256 of the DER SubjectPublicKeyInfo in the agent's certificate request
// (so a proof only enrolls the key pair it was made for). A database leak exposes the
// derived keys, which are enough to forge proofs for the claimed devices but not to learn
// the OAKs themselves; the memory-hard derivation makes guessing them from a key slow.
//
// The relay and the on-device agent both use this package, so the derivation exists once;
// it belongs to neither side.
package oak

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KeyLen is the length of a derived key.
const KeyLen = 32

// Cost of the derivation: light enough for an agent on a camera, heavy enough to make an
// offline guess of a 12-character key expensive.
const (
	kdfTime   = 2
	kdfMemory = 16 * 1024 // KiB
)

// ErrFormat: the string is not an OAK.
var ErrFormat = errors.New("owner authentication key must be 8 to 64 letters and digits (dashes and spaces ignored)")

// Normalize uppercases the key and drops dashes and spaces, so "abcd-efgh" and "ABCDEFGH"
// are the same key.
func Normalize(key string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		switch {
		case r == '-' || r == ' ':
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", ErrFormat
		}
	}
	if b.Len() < 8 || b.Len() > 64 {
		return "", ErrFormat
	}
	return b.String(), nil
}

// DeriveKey derives the stored key from a device serial and its OAK.
func DeriveKey(serial, key string) ([]byte, error) {
	n, err := Normalize(key)
	if err != nil {
		return nil, err
	}
	salt := []byte("camcloud-oak-v1:" + strings.ToUpper(serial))
	return argon2.IDKey([]byte(n), salt, kdfTime, kdfMemory, 1, KeyLen), nil
}

// Proof is what an agent sends to prove it knows the OAK of serial.
func Proof(derived []byte, serial string, nonce, binding []byte) []byte {
	m := hmac.New(sha256.New, derived)
	m.Write([]byte("camcloud-oak-proof-v1\x00"))
	m.Write([]byte(strings.ToUpper(serial)))
	m.Write([]byte{0})
	m.Write(nonce)
	m.Write([]byte{0})
	m.Write(binding)
	return m.Sum(nil)
}

// Verify checks a proof in constant time.
func Verify(derived []byte, serial string, nonce, binding, proof []byte) bool {
	if len(derived) != KeyLen || len(nonce) == 0 {
		return false
	}
	return hmac.Equal(Proof(derived, serial, nonce, binding), proof)
}
