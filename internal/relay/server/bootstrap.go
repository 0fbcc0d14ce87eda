package server

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// DefaultOrgName is the organization made at first start, with the first admin in it.
const DefaultOrgName = "default"

// bootstrap creates the first admin and a default organization when the database has no
// user yet. A generated password is written once to Stderr and nowhere else: not to the
// log, not to disk.
func (s *Server) bootstrap(ctx context.Context, st *store.Store, hasher *auth.Hasher) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	email, password := s.cfg.adminEmail(), s.cfg.AdminPassword
	generated := password == ""
	if generated {
		password = GeneratePassword()
	}
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	u, err := st.CreateUser(ctx, email, hash)
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	org, err := st.CreateOrg(ctx, DefaultOrgName, u.ID)
	if err != nil {
		return fmt.Errorf("first organization: %w", err)
	}
	if err := st.SetOperatorOrg(ctx, org.ID); err != nil {
		return fmt.Errorf("first organization: %w", err)
	}
	s.log.Info("first start: created the first admin and organization", "email", email, "org", org.ID,
		"passwordFrom", map[bool]string{true: "generated (printed once on stderr)", false: "RELAY_ADMIN_PASSWORD"}[generated])
	if generated && s.cfg.Stderr != nil {
		fmt.Fprintf(s.cfg.Stderr, "relay: first start: admin login %s password %s (shown only once; change it with `relay admin reset-password`)\n", email, password)
	}
	return nil
}

// GeneratePassword returns a random password: 26 base32 characters, 128 bits.
func GeneratePassword() string { return rand.Text() }
