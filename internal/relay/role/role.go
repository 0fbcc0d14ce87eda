// Package role defines the roles a member of an organization (a person or an application
// client) can hold, ordered so that a higher role includes everything a lower one may do.
//
//   - viewer: live video only
//   - operator: live video, recordings, PTZ, device operation
//   - admin: everything, including users, devices, profiles, storage and keys
package role

import (
	"errors"
	"fmt"
)

// Role is a member's role. The zero value is Unknown, which allows nothing.
type Role int

// The roles, lowest first; comparisons rely on this order.
const (
	Unknown Role = iota
	Viewer
	Operator
	Admin
)

// ErrUnknown is returned by Parse for a name that is not a role.
var ErrUnknown = errors.New("unknown role (want viewer, operator or admin)")

// All lists the valid roles, lowest first.
func All() []Role { return []Role{Viewer, Operator, Admin} }

// String returns the role's name as used on the wire and in the store.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// Parse turns a role name into a Role.
func Parse(s string) (Role, error) {
	switch s {
	case "viewer":
		return Viewer, nil
	case "operator":
		return Operator, nil
	case "admin":
		return Admin, nil
	}
	return Unknown, fmt.Errorf("%q: %w", s, ErrUnknown)
}

// Valid reports whether r is one of the roles in All.
func (r Role) Valid() bool { return r >= Viewer && r <= Admin }

// AtLeast reports whether r includes min. Unknown never does.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r >= min }

// MarshalText encodes the role as its name.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("marshal %v: %w", r, ErrUnknown)
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes a role name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
