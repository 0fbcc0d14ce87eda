package vapix

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Role is a VAPIX account's privilege list (pwdgrp.cgi sgrp).
type Role string

const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "viewer:operator"
	RoleAdmin    Role = "viewer:operator:admin"
	// WithPTZ adds the PTZ group to a role: RoleOperator + WithPTZ.
	WithPTZ Role = ":ptz"
)

// Users lists accounts by group (admin, operator, viewer, ptz, digusers on AXIS OS 12;
// older firmware lists more groups).
func (c *Client) Users(ctx context.Context) (map[string][]string, error) {
	text, err := c.cgi(ctx, "/axis-cgi/pwdgrp.cgi", url.Values{"action": {"get"}})
	if err != nil {
		return nil, fmt.Errorf("vapix: list users: %w", err)
	}
	groups, err := ParseUsers(text)
	if err != nil {
		return nil, fmt.Errorf("vapix: list users: %w", err)
	}
	return groups, nil
}

// AddUser creates an account.
func (c *Client) AddUser(ctx context.Context, user, password string, role Role, comment string) error {
	args := url.Values{"action": {"add"}, "user": {user}, "pwd": {password}, "grp": {"users"}, "sgrp": {string(role)}}
	if comment != "" {
		args.Set("comment", comment)
	}
	if _, err := c.cgi(ctx, "/axis-cgi/pwdgrp.cgi", args); err != nil {
		return fmt.Errorf("vapix: add user %s: %w", user, err)
	}
	return nil
}

// UpdateUser changes an account's password and/or role (empty values are left alone).
func (c *Client) UpdateUser(ctx context.Context, user, password string, role Role) error {
	args := url.Values{"action": {"update"}, "user": {user}}
	if password != "" {
		args.Set("pwd", password)
	}
	if role != "" {
		args.Set("sgrp", string(role))
	}
	if _, err := c.cgi(ctx, "/axis-cgi/pwdgrp.cgi", args); err != nil {
		return fmt.Errorf("vapix: update user %s: %w", user, err)
	}
	return nil
}

// RemoveUser deletes an account.
func (c *Client) RemoveUser(ctx context.Context, user string) error {
	if _, err := c.cgi(ctx, "/axis-cgi/pwdgrp.cgi", url.Values{"action": {"remove"}, "user": {user}}); err != nil {
		return fmt.Errorf("vapix: remove user %s: %w", user, err)
	}
	return nil
}

// WhoAmI returns the account the client uses and its groups (usergroup.cgi).
func (c *Client) WhoAmI(ctx context.Context) (user string, groups []string, err error) {
	b, _, err := c.do(ctx, c.http, "GET", "/axis-cgi/usergroup.cgi", nil, "", nil)
	if err != nil {
		return "", nil, fmt.Errorf("vapix: who am I: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(b), "\r", "")), "\n")
	if len(lines) < 1 || lines[0] == "" {
		return "", nil, fmt.Errorf("vapix: who am I: %w", ErrMalformed)
	}
	if len(lines) > 1 {
		groups = strings.Fields(lines[1])
	}
	return strings.TrimSpace(lines[0]), groups, nil
}
