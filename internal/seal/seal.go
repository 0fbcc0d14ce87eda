// Package seal keeps secrets that a program must use again (not just compare) from being
// at rest in clear text: it seals them with AES-256-GCM under a key file of the
// program's own, so that a copy of its database alone reveals nothing. The edge agent
// seals the VAPIX passwords it set on cameras with it; the relay seals its users'
// two-step verification (TOTP) secrets.
//
// The key file is 32 random bytes, made with mode 0600 on first use. A key file that
// group or others may access is refused rather than used: whoever can read it can open
// every sealed value.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// KeySize is the length of the key file: an AES-256 key.
const KeySize = 32

// ErrOpen: a sealed value did not open (wrong key, tampered, or sealed for another name).
var ErrOpen = errors.New("seal: sealed value does not open with this key")

// ErrKeyMode: the key file may be read or written by group or others.
var ErrKeyMode = errors.New("seal: key file is accessible to group or others")

// Box seals and opens values.
type Box struct {
	aead cipher.AEAD
}

// OpenBox loads the key at path, creating it (mode 0600) when there is none; created
// says that it did, so that a caller can tell a fresh key from a missing one.
func OpenBox(path string) (b *Box, created bool, err error) {
	b, err = LoadBox(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, false, err
	}
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never fails (Go 1.24+)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("seal: create key file: %w", err)
	}
	_, werr := f.Write(key)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		_ = os.Remove(path) // a short key file would be refused on the next start
		return nil, false, fmt.Errorf("seal: write key file %s: %w", path, werr)
	}
	b, err = NewBox(key)
	return b, err == nil, err
}

// LoadBox loads the key at path. A missing file is an error that matches
// fs.ErrNotExist; one that group or others may access is ErrKeyMode.
func LoadBox(path string) (*Box, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	// Windows has no such mode bits; its ACLs are the operator's business there.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %04o; it must be readable by its owner only (chmod 600 %s)", ErrKeyMode, path, perm, path)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: key file %s is not a regular file", path)
	}
	key := make([]byte, KeySize+1)
	n, err := io.ReadFull(f, key)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("seal: read key file %s: %w", path, err)
	}
	if n != KeySize {
		return nil, fmt.Errorf("seal: key file %s is not a key: it must hold exactly %d bytes", path, KeySize)
	}
	return NewBox(key[:KeySize])
}

// NewBox makes a Box from a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to name (a device serial, a user ID): it opens only
// under the same name, so sealed values cannot be swapped between records.
func (b *Box) Seal(plaintext []byte, name string) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (Go 1.24+)
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
