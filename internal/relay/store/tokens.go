package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// TokenKind says who a bearer token speaks for.
type TokenKind string

// Token kinds.
const (
	TokenUser   TokenKind = "user"   // a person; the organization and role come from the request
	TokenClient TokenKind = "client" // an application client; bound to its organization and role
)

// Token is a stored bearer token (keyed by the SHA-256 of the token string).
type Token struct {
	Kind      TokenKind `json:"kind"`
	Subject   string    `json:"subject"`        // user ID or client ID
	Org       string    `json:"org,omitempty"`  // client tokens only
	Role      role.Role `json:"role,omitempty"` // client tokens only
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// CreateToken stores a token under its hash.
func (s *Store) CreateToken(ctx context.Context, hash [32]byte, t Token) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		switch t.Kind {
		case TokenUser:
			if tx.Bucket(bucketUsers).Get([]byte(t.Subject)) == nil {
				return ErrNotFound
			}
		case TokenClient:
			if tx.Bucket(bucketClients).Get([]byte(t.Subject)) == nil {
				return ErrNotFound
			}
		default:
			return fmt.Errorf("token kind %q", t.Kind)
		}
		if err := putJSON(tx.Bucket(bucketTokens), hash[:], t); err != nil {
			return err
		}
		return tx.Bucket(bucketTokenSubjects).Put(pair(t.Subject, hex.EncodeToString(hash[:])), present)
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// LookupToken returns the token stored under hash: ErrNotFound if unknown or revoked,
// ErrExpired once the store's clock reaches ExpiresAt.
func (s *Store) LookupToken(ctx context.Context, hash [32]byte) (Token, error) {
	var t Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		t, err = s.tokens.get(tx.Bucket(bucketTokens), hash[:])
		return err
	})
	if err != nil {
		return Token{}, err
	}
	if !s.now().Before(t.ExpiresAt) {
		return Token{}, ErrExpired
	}
	return t, nil
}

// RevokeToken deletes a token. Revoking an unknown token is not an error (RFC 7009).
func (s *Store) RevokeToken(ctx context.Context, hash [32]byte) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return revokeHash(tx, hash[:]) })
}

// RevokeTokensOf deletes every token of a user or client.
func (s *Store) RevokeTokensOf(ctx context.Context, subject string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return revokeSubject(tx, subject) })
}

// DeleteExpiredTokens removes tokens past their expiry and returns how many it removed.
func (s *Store) DeleteExpiredTokens(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var expired [][]byte
		err := tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			var t Token
			if err := decode(v, &t); err != nil {
				return err
			}
			if !now.Before(t.ExpiresAt) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := revokeHash(tx, k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}

func revokeHash(tx *bolt.Tx, hash []byte) error {
	tokens := tx.Bucket(bucketTokens)
	var t Token
	if err := getJSON(tokens, hash, &t); err != nil {
		return nil // unknown or already revoked
	}
	if err := tx.Bucket(bucketTokenSubjects).Delete(pair(t.Subject, hex.EncodeToString(hash))); err != nil {
		return err
	}
	return tokens.Delete(hash)
}

func revokeSubject(tx *bolt.Tx, subject string) error {
	keys, err := deletePrefix(tx.Bucket(bucketTokenSubjects), prefixOf(subject))
	if err != nil {
		return err
	}
	for _, k := range keys {
		hash, err := hex.DecodeString(string(k[len(subject)+1:]))
		if err != nil {
			return fmt.Errorf("token index %q: %w", k, err)
		}
		if err := tx.Bucket(bucketTokens).Delete(hash); err != nil {
			return err
		}
	}
	return nil
}
