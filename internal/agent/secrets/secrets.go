// Package secrets seals the device credentials an agent keeps (the VAPIX account it made
// on each camera) with AES-256-GCM under a key file of its own in the agent's data
// directory, so that the credentials are never at rest in clear text and a copy of the
// database alone does not reveal them.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KeySize is the length of the key file: an AES-256 key.
const KeySize = 32

// ErrOpen: a sealed value did not open (wrong key, tampered, or sealed for another name).
var ErrOpen = errors.New("secrets: sealed value does not open with this key")

// Box seals and opens values.
type Box struct {
	aead cipher.AEAD
}

// OpenBox loads the key at path, creating it (mode 0600) when there is none.
func OpenBox(path string) (*Box, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("secrets: create key: %w", err)
		}
		_, werr := f.Write(key)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return nil, fmt.Errorf("secrets: write key: %w", werr)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secrets: read key: %w", err)
	}
	return NewBox(key)
}

// NewBox makes a Box from a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to name (for example a device serial): it opens only
// under the same name, so sealed values cannot be swapped between records.
func (b *Box) Seal(plaintext []byte, name string) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, plaintext, []byte(name))
}

// Open decrypts what Seal made for name.
func (b *Box) Open(sealed []byte, name string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(name))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
