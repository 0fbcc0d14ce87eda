package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/ident"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

func newAdminCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage users directly in a data directory (while the relay is stopped)",
		Long: `Commands that work on a relay's data directory without the API, for recovery and
first setup. The relay must be stopped: they refuse while it holds the database.

Passwords come from the environment variable RELAY_PASSWORD; without it a password is
generated and printed once.`,
	}
	cmd.AddCommand(newCreateUserCommand(), newResetPasswordCommand(), newDeleteUserCommand(), newResetTwoFactorCommand(), newCheckCommand())
	return cmd
}

// openData opens the store of a stopped relay, with a clear error when one is running.
func openData(dir string) (*store.Store, error) {
	if dir == "" {
		return nil, errors.New("--data is required")
	}
	path := filepath.Join(dir, server.DBFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no relay database in %s (start `relay serve --data %s` once first): %w", dir, dir, err)
	}
	st, err := store.Open(path, store.Options{LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("a relay is running on %s (its database is locked); stop it first, or use the API", dir)
	}
	return st, err
}

// passwordFromEnv returns RELAY_PASSWORD, or a generated password and true.
func passwordFromEnv() (string, bool) {
	if p := os.Getenv("RELAY_PASSWORD"); p != "" {
		return p, false
	}
	return server.GeneratePassword(), true
}

func newCreateUserCommand() *cobra.Command {
	var dir, email, org, roleName string
	cmd := &cobra.Command{
		Use:   "create-user",
		Short: "Create a user, optionally as a member of an organization",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rl, err := role.Parse(roleName)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if err := ident.CheckEmail(email); err != nil {
				return fmt.Errorf("--email %q: %w", email, err)
			}
			st, err := openData(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			password, generated := passwordFromEnv()
			hash, err := auth.NewHasher(auth.DefaultParams, 1).Hash(ctx, password)
			if err != nil {
				return fmt.Errorf("RELAY_PASSWORD: %w", err)
			}
			var orgID string
			if org != "" {
				if orgID, err = findOrg(ctx, st, org); err != nil {
					return err
				}
			}
			u, err := st.CreateUser(ctx, email, hash)
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("a user %s exists already; use reset-password", email)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created user %s (%s)\n", email, u.ID)
			if orgID != "" {
				if _, err := st.AddMember(ctx, orgID, u.ID, rl); err != nil {
					return fmt.Errorf("add to organization: %w", err)
				}
				fmt.Fprintf(out, "added to organization %s as %s\n", orgID, rl)
			}
			if generated {
				fmt.Fprintf(out, "password: %s (shown only once)\n", password)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "the relay's data directory")
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address (login)")
	cmd.Flags().StringVar(&org, "org", "", "organization (ID or name) to add the user to")
	cmd.Flags().StringVar(&roleName, "role", "admin", "role in --org: viewer, operator or admin")
	return cmd
}

// findOrg resolves an organization ID or an exact, unique name.
func findOrg(ctx context.Context, st *store.Store, org string) (string, error) {
	if strings.HasPrefix(org, "org_") {
		if _, err := st.Org(ctx, org); err == nil {
			return org, nil
		}
	}
	id, err := st.OrgByName(ctx, org)
	if err != nil {
		return "", fmt.Errorf("organization %q: %w", org, err)
	}
	return id, nil
}

func newResetPasswordCommand() *cobra.Command {
	return newUserAdminCommand("reset-password", "Set a new password for a user and end all their sessions",
		func(cmd *cobra.Command, st *store.Store, u store.User) error {
			ctx := cmd.Context()
			password, generated := passwordFromEnv()
			hash, err := auth.NewHasher(auth.DefaultParams, 1).Hash(ctx, password)
			if err != nil {
				return fmt.Errorf("RELAY_PASSWORD: %w", err)
			}
			if err := st.SetPassword(ctx, u.ID, hash); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "password of %s reset; their tokens are revoked\n", u.Email)
			if generated {
				fmt.Fprintf(out, "password: %s (shown only once)\n", password)
			}
			return nil
		})
}

func newDeleteUserCommand() *cobra.Command {
	return newUserAdminCommand("delete-user", "Delete a user, their memberships and every token of theirs",
		func(cmd *cobra.Command, st *store.Store, u store.User) error {
			if err := st.DeleteUser(cmd.Context(), u.ID); errors.Is(err, store.ErrLastAdmin) {
				return fmt.Errorf("%s is the last admin of an organization; make someone else admin first", u.Email)
			} else if err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s; their tokens are revoked\n", u.Email)
			return err
		})
}

func newResetTwoFactorCommand() *cobra.Command {
	var dir, email string
	var all bool
	cmd := &cobra.Command{
		Use:   "reset-two-factor",
		Short: "Turn two-step verification off for a user (--email) or for every user (--all)",
		Long: `Turn two-step verification off without a code, for a person who lost both their
authenticator and their recovery codes (--email), or for every user when the relay's
key file that seals the secrets is lost (--all). They sign in with their password and
turn it on again; organizations that require it refuse them until they do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (email == "") == !all {
				return errors.New("give either --email or --all")
			}
			st, err := openData(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if all {
				n, err := st.ResetAllTwoFactor(ctx)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "two-step verification turned off for %d users\n", n)
				return err
			}
			u, err := st.UserByEmail(ctx, email)
			if err != nil {
				return fmt.Errorf("user %q: %w", email, err)
			}
			was, err := st.ResetTwoFactor(ctx, u.ID)
			if err != nil {
				return err
			}
			if !was {
				_, err = fmt.Fprintf(out, "%s had no two-step verification\n", u.Email)
				return err
			}
			_, err = fmt.Fprintf(out, "two-step verification of %s turned off\n", u.Email)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "the relay's data directory")
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address")
	cmd.Flags().BoolVar(&all, "all", false, "every user")
	return cmd
}

// newUserAdminCommand is an admin command on one user, named by --email, in the store of
// --data (which the relay must not have open).
func newUserAdminCommand(use, short string, do func(cmd *cobra.Command, st *store.Store, u store.User) error) *cobra.Command {
	var dir, email string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openData(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.UserByEmail(cmd.Context(), email)
			if err != nil {
				return fmt.Errorf("user %q: %w", email, err)
			}
			return do(cmd, st, u)
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "the relay's data directory")
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address")
	return cmd
}

func newCheckCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the database's invariants (indexes, references, pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openData(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Check(cmd.Context()); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "the relay's data directory")
	return cmd
}
