package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// Invitation is a one-time code that makes its holder a member of an organization.
type Invitation struct {
	ID         string    `json:"id"`
	Org        string    `json:"org"`
	Role       role.Role `json:"role"`
	Email      string    `json:"email,omitempty"` // when set, only this address may accept
	CodeHash   []byte    `json:"codeHash"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	AcceptedBy string    `json:"acceptedBy,omitempty"`
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
}

// NewUser is the account an invitation creates when accepted by someone without one.
type NewUser struct {
	Email        string
	PasswordHash string
}

// CreateInvitation stores an invitation; ID, CreatedAt and CodeHash are set here.
func (s *Store) CreateInvitation(ctx context.Context, inv Invitation, codeHash [32]byte) (Invitation, error) {
	inv.ID = newID(prefixInvitation)
	inv.CodeHash = codeHash[:]
	inv.CreatedAt = s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(inv.Org)) == nil {
			return ErrNotFound
		}
		if err := putJSON(tx.Bucket(bucketInvitations), pair(inv.Org, inv.ID), inv); err != nil {
			return err
		}
		return tx.Bucket(bucketInvitationCodes).Put(codeHash[:], pair(inv.Org, inv.ID))
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("create invitation: %w", err)
	}
	return inv, nil
}

// Invitations lists an organization's invitations, newest first (accepted ones included).
func (s *Store) Invitations(ctx context.Context, org string) ([]Invitation, error) {
	var out []Invitation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketInvitations), prefixOf(org), nil, func(_, v []byte) (bool, error) {
			var inv Invitation
			err := decode(v, &inv)
			out = append(out, inv)
			return true, err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, err
}

// DeleteInvitation withdraws an invitation.
func (s *Store) DeleteInvitation(ctx context.Context, org, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvitations)
		var inv Invitation
		if err := getJSON(b, pair(org, id), &inv); err != nil {
			return err
		}
		if err := tx.Bucket(bucketInvitationCodes).Delete(inv.CodeHash); err != nil {
			return err
		}
		return b.Delete(pair(org, id))
	})
}

// AcceptInvitation consumes an invitation code for userID, or, when userID is empty,
// for a new account made from nu, in one transaction. It returns the membership made.
// Errors: ErrNotFound (unknown code), ErrUsed, ErrExpired, ErrEmailMismatch, ErrExists
// (already a member, or nu's e-mail address is taken), ErrBadEmail. A refused attempt
// leaves the invitation usable.
func (s *Store) AcceptInvitation(ctx context.Context, codeHash [32]byte, userID string, nu *NewUser) (Member, error) {
	now := s.now().UTC()
	var m Member
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ref := tx.Bucket(bucketInvitationCodes).Get(codeHash[:])
		if ref == nil {
			return ErrNotFound
		}
		invs := tx.Bucket(bucketInvitations)
		var inv Invitation
		if err := getJSON(invs, ref, &inv); err != nil {
			return err
		}
		switch {
		case inv.AcceptedBy != "":
			return ErrUsed
		case !now.Before(inv.ExpiresAt):
			return ErrExpired
		}
		var u User
		if userID != "" {
			if err := getJSON(tx.Bucket(bucketUsers), []byte(userID), &u); err != nil {
				return err
			}
		} else {
			if nu == nil {
				return fmt.Errorf("accept invitation: no user: %w", ErrNotFound)
			}
			if inv.Email != "" && ident.Key(inv.Email) != ident.Key(nu.Email) {
				return ErrEmailMismatch
			}
			var err error
			if u, err = createUser(tx, nu.Email, nu.PasswordHash, now); err != nil {
				return err
			}
		}
		if inv.Email != "" && ident.Key(inv.Email) != ident.Key(u.Email) {
			return ErrEmailMismatch
		}
		if tx.Bucket(bucketMembers).Get(pair(inv.Org, u.ID)) != nil {
			return ErrExists
		}
		m = Member{Org: inv.Org, UserID: u.ID, Role: inv.Role, AddedAt: now}
		if err := putMember(tx, m); err != nil {
			return err
		}
		m.Email = u.Email
		inv.AcceptedBy, inv.AcceptedAt = u.ID, now
		return putJSON(invs, ref, inv)
	})
	return m, err
}
