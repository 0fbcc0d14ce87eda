// Package auth holds the relay's credential primitives: password hashing with argon2id
// and opaque random secrets (bearer tokens, client secrets, enrollment tokens, invitation
// codes) that are stored only as hashes.
//
// Passwords are low-entropy, so they get a memory-hard KDF with a per-password salt.
// Secrets made here carry 256 random bits, so a single SHA-256 is enough to store them: an
// attacker with the database cannot invert it, and looking one up stays a key lookup.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. They are stored with each hash, so raising them
// later only affects new hashes.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams follow the OWASP password storage recommendation for argon2id
// (19 MiB, 2 passes, 1 lane): about 30 ms on a small server core.
var DefaultParams = Params{Time: 2, Memory: 19 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// MinPasswordLen is the shortest password accepted anywhere.
const MinPasswordLen = 8

// maxPasswordLen bounds the work an attacker can ask for with a huge password.
const maxPasswordLen = 1024

var (
	// ErrMismatch: the password does not match the hash.
	ErrMismatch = errors.New("auth: password does not match")
	// ErrBadHash: the stored hash is not an argon2id string this package wrote.
	ErrBadHash = errors.New("auth: malformed password hash")
	// ErrWeakPassword: the password is shorter than MinPasswordLen (or absurdly long).
	ErrWeakPassword = errors.New("auth: password must be 8 to 1024 characters")
)

// Hasher hashes and checks passwords. It bounds how many hashes run at once, because each
// takes Params.Memory; without a bound a burst of logins could exhaust the relay's memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
}

// NewHasher makes a Hasher; zero params mean DefaultParams, concurrency <= 0 means 4.
func NewHasher(p Params, concurrency int) *Hasher {
	if p == (Params{}) {
		p = DefaultParams
	}
	if concurrency <= 0 {
		concurrency = 4
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency)}
	// A fixed hash to check against when a user does not exist, so that an unknown
	// e-mail costs as much time as a wrong password and does not reveal which it was.
	h.dummy = h.encode(make([]byte, p.SaltLen), []byte("camcloud-no-such-user"))
	return h
}

// CheckPolicy tells whether a new password is acceptable.
func CheckPolicy(password string) error {
	if len(password) < MinPasswordLen || len(password) > maxPasswordLen {
		return ErrWeakPassword
	}
	return nil
}

// Hash returns an encoded argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$key) of a
// password that passes CheckPolicy.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := CheckPolicy(password); err != nil {
		return "", err
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(salt, []byte(password)), nil
}

// Verify checks password against an encoded hash in constant time. An empty encoded
// hash (unknown user) is checked against a dummy hash and always fails with ErrMismatch.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) error {
	known := encoded != ""
	if !known {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return err
	}
	if len(password) > maxPasswordLen {
		password = password[:maxPasswordLen]
		known = false
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 || !known {
		return ErrMismatch
	}
	return nil
}

// Dummy spends the time of one verification; callers use it on paths that would
// otherwise answer faster for an unknown user.
func (h *Hasher) Dummy(ctx context.Context) { _ = h.Verify(ctx, "", "x") }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hashing: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) encode(salt, password []byte) string {
	p := h.params
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrBadHash
	}
	// Refuse parameters no hash of ours has, so a tampered record cannot make a login
	// allocate gigabytes.
	if p.Time == 0 || p.Time > 16 || p.Memory < 8 || p.Memory > 1<<20 || p.Threads == 0 {
		return Params{}, nil, nil, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrBadHash
	}
	return p, salt, key, nil
}
