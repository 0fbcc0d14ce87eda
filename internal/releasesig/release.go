// Package releasesig is how the relay vouches for the software it distributes: it signs
// each release artifact (its SHA-256 and size) with an Ed25519 key of its own, and agents
// verify the signature and the hash before they give the file to a device, so that a
// file altered in storage or on the way is never installed.
package releasesig

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
)

// message is what is signed for an artifact.
func message(sha256hex string, size int64) []byte {
	return []byte("camcloud release artifact v1\nsha256:" + sha256hex + "\nsize:" + strconv.FormatInt(size, 10) + "\n")
}

// Sign signs an artifact.
func Sign(key ed25519.PrivateKey, sha256hex string, size int64) []byte {
	return ed25519.Sign(key, message(sha256hex, size))
}

// Verify checks an artifact's signature.
func Verify(pub ed25519.PublicKey, sha256hex string, size int64, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, message(sha256hex, size), sig)
}

// LoadKey loads the signing key at path (PKCS#8 PEM). A missing file is an error that
// wraps fs.ErrNotExist: whether a new key may replace it is the caller's decision, since
// releases signed with the old one verify with no other.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release: read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("release: %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("release: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("release: %s: not an Ed25519 key", path)
	}
	return key, nil
}

// CreateKey makes a new signing key and writes it to path (0600), through a temporary
// file and a rename so that a crash never leaves half a key behind.
func CreateKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("release: signing key: %w", err)
	}
	return key, nil
}

// MarshalPublicKey encodes a public key as PEM (PKIX).
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey decodes what MarshalPublicKey made.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("release: public key: no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("release: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("release: public key is not Ed25519")
	}
	return pub, nil
}
