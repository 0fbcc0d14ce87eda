package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// Client is an application with access to one organization (OAuth 2.0 client
// credentials). Its ID is the client_id; only the hash of its secret is kept.
type Client struct {
	ID         string    `json:"id"`
	Org        string    `json:"org"`
	Name       string    `json:"name"`
	Role       role.Role `json:"role"`
	SecretHash []byte    `json:"secretHash"`
	CreatedAt  time.Time `json:"createdAt"`
}

// CreateClient adds an application client to an organization.
func (s *Store) CreateClient(ctx context.Context, org, name string, r role.Role, secretHash [32]byte) (Client, error) {
	c := Client{ID: newID(prefixClient), Org: org, Name: name, Role: r, SecretHash: secretHash[:], CreatedAt: s.now().UTC()}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(org)) == nil {
			return ErrNotFound
		}
		if err := putJSON(tx.Bucket(bucketClients), []byte(c.ID), c); err != nil {
			return err
		}
		return tx.Bucket(bucketOrgClients).Put(pair(org, c.ID), present)
	})
	if err != nil {
		return Client{}, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// ClientByID returns a client by its client_id, whatever its organization: the token
// endpoint uses it before anyone knows the organization.
func (s *Store) ClientByID(ctx context.Context, id string) (Client, error) {
	var c Client
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketClients), []byte(id), &c)
	})
	return c, err
}

// Client returns a client of an organization.
func (s *Store) Client(ctx context.Context, org, id string) (Client, error) {
	c, err := s.ClientByID(ctx, id)
	if err == nil && c.Org != org {
		return Client{}, ErrNotFound
	}
	return c, err
}

// Clients lists an organization's clients by name.
func (s *Store) Clients(ctx context.Context, org string) ([]Client, error) {
	var out []Client
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketOrgClients), prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			var c Client
			err := getJSON(tx.Bucket(bucketClients), k[len(org)+1:], &c)
			out = append(out, c)
			return true, err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DeleteClient removes a client and revokes its tokens.
func (s *Store) DeleteClient(ctx context.Context, org, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var c Client
		if err := getJSON(tx.Bucket(bucketClients), []byte(id), &c); err != nil || c.Org != org {
			return cmpErr(err, ErrNotFound)
		}
		if err := tx.Bucket(bucketOrgClients).Delete(pair(org, id)); err != nil {
			return err
		}
		return deleteClient(tx, id)
	})
}

func deleteClient(tx *bolt.Tx, id string) error {
	if err := revokeSubject(tx, id); err != nil {
		return err
	}
	return tx.Bucket(bucketClients).Delete([]byte(id))
}
