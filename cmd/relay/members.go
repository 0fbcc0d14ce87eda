package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type memberItem struct {
	UserID  string    `json:"userId"`
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

func (c *apiClient) members(cmd *cobra.Command, org string) ([]memberItem, error) {
	var page struct {
		Items []memberItem `json:"items"`
	}
	err := c.do(cmd, "GET", orgPath(org, "members"), nil, "", &page)
	return page.Items, err
}

// resolveMember accepts a member's user ID or e-mail address.
func (c *apiClient) resolveMember(cmd *cobra.Command, org, who string) (string, error) {
	ms, err := c.members(cmd, org)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.UserID == who || strings.EqualFold(m.Email, who) {
			return m.UserID, nil
		}
	}
	return "", fmt.Errorf("%q is not a member of the organization (see relay members list)", who)
}

func newMembersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "members",
		Short: "The people of an organization and their roles (viewer, operator, admin)",
	}
	list := newOrgCommand("list", "List the members and their roles", "", cobra.NoArgs,
		func(cmd *cobra.Command, cl *apiClient, org string, _ []string, asJSON bool) error {
			ms, err := cl.members(cmd, org)
			if err != nil {
				return err
			}
			if asJSON {
				if ms == nil {
					ms = []memberItem{}
				}
				return printJSON(cmd.OutOrStdout(), ms)
			}
			var rows [][]any
			for _, m := range ms {
				rows = append(rows, []any{m.UserID, m.Email, m.Role, m.AddedAt.Format(time.RFC3339)})
			}
			return printTable(cmd.OutOrStdout(), "USER\tEMAIL\tROLE\tADDED", rows)
		})
	var role, email string
	var valid time.Duration
	invite := newOrgCommand("invite", "Invite someone and print the one-time invitation code",
		`invite creates an invitation to --org with --role. With --email only that address may
accept it. The code is shown only this once; the invited person accepts it with
POST /api/v1/invitations/{code}/accept.`,
		cobra.NoArgs, func(cmd *cobra.Command, cl *apiClient, org string, _ []string, _ bool) error {
			body := map[string]any{"role": role, "expiresIn": int64(valid / time.Second)}
			if email != "" {
				body["email"] = email
			}
			b, _ := json.Marshal(body)
			var inv struct {
				ID        string    `json:"id"`
				Code      string    `json:"code"`
				ExpiresAt time.Time `json:"expiresAt"`
			}
			if err := cl.do(cmd, "POST", orgPath(org, "invitations"), bytes.NewReader(b), "application/json", &inv); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "invitation: %s\ncode: %s (one use, until %s)\n", inv.ID, inv.Code, inv.ExpiresAt.Format(time.RFC3339))
			return err
		})
	invite.Flags().StringVar(&role, "role", "viewer", "role of the new member: viewer, operator or admin")
	invite.Flags().StringVar(&email, "email", "", "only this address may accept (default: whoever has the code)")
	invite.Flags().DurationVar(&valid, "valid", 7*24*time.Hour, "how long the code stays valid (at most 720h)")
	_ = invite.Flags().MarkHidden("json")

	setRole := newOrgCommand("set-role USER ROLE", "Change a member's role (the last admin cannot be demoted)",
		"set-role gives the member USER (a user ID or e-mail address) the role ROLE: viewer, operator or admin.",
		cobra.ExactArgs(2), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			id, err := cl.resolveMember(cmd, org, args[0])
			if err != nil {
				return err
			}
			b, _ := json.Marshal(map[string]string{"role": args[1]})
			if err := cl.do(cmd, "PATCH", orgPath(org, "members", id), bytes.NewReader(b), "application/json", nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", args[0], args[1])
			return err
		})
	_ = setRole.Flags().MarkHidden("json")
	remove := newOrgCommand("remove USER", "Remove a member; their access ends at once",
		"remove takes USER (a user ID or e-mail address) out of the organization. The last admin cannot be removed.",
		cobra.ExactArgs(1), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			id, err := cl.resolveMember(cmd, org, args[0])
			if err != nil {
				return err
			}
			if err := cl.do(cmd, "DELETE", orgPath(org, "members", id), nil, "", nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s removed\n", args[0])
			return err
		})
	_ = remove.Flags().MarkHidden("json")
	cmd.AddCommand(list, invite, setRole, remove)
	return cmd
}
