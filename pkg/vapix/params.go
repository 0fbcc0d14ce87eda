package vapix

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Params lists parameters of the given groups (all when none), with names in the form
// asked ("root." kept when given). Groups the device lacks come back as ParamGroupError
// entries, not as an error, since the device still lists the other groups (vapix.md 5.1).
func (c *Client) Params(ctx context.Context, groups ...string) ([]Param, []ParamGroupError, error) {
	args := url.Values{"action": {"list"}}
	if len(groups) > 0 {
		args.Set("group", strings.Join(groups, ","))
	}
	b, _, err := c.do(ctx, c.http, "POST", "/axis-cgi/param.cgi", nil, "application/x-www-form-urlencoded", []byte(args.Encode()))
	if err != nil {
		return nil, nil, fmt.Errorf("vapix: list params: %w", err)
	}
	params, missing, err := ParseParams(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("vapix: list params: %w", err)
	}
	return params, missing, nil
}

// ParamMap lists parameters as a map by name.
func (c *Client) ParamMap(ctx context.Context, groups ...string) (map[string]string, error) {
	params, _, err := c.Params(ctx, groups...)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(params))
	for _, p := range params {
		m[p.Name] = p.Value
	}
	return m, nil
}

// SetParams updates parameters (names with or without "root."). The device applies all
// or none; a refusal is *Error with the device's message.
func (c *Client) SetParams(ctx context.Context, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	args := url.Values{"action": {"update"}}
	for k, v := range values {
		args.Set(k, v)
	}
	if _, err := c.cgi(ctx, "/axis-cgi/param.cgi", args); err != nil {
		return fmt.Errorf("vapix: set params: %w", err)
	}
	return nil
}
