package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// Org is an organization: the tenant that owns devices, members and everything else.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// MaintenanceWindow, when set, is when the system may change managed devices on its
	// own (bringing them to their profile); nil: at once.
	MaintenanceWindow *Window `json:"maintenanceWindow,omitempty"`
	// RequireTwoFactor: members who are people must have two-step verification on to
	// act in the organization.
	RequireTwoFactor bool `json:"requireTwoFactor,omitempty"`
}

// Member is a user's membership of an organization.
type Member struct {
	Org     string    `json:"org"`
	UserID  string    `json:"userId"`
	Email   string    `json:"email,omitempty"` // filled by Members and Member, not stored
	Role    role.Role `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

// OrgRole is an organization seen by one of its members.
type OrgRole struct {
	Org  Org
	Role role.Role
}

// CreateOrg creates an organization with adminUserID as its first admin.
func (s *Store) CreateOrg(ctx context.Context, name, adminUserID string) (Org, error) {
	o := Org{ID: newID(prefixOrg), Name: name, CreatedAt: s.now().UTC()}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(adminUserID)) == nil {
			return fmt.Errorf("admin %s: %w", adminUserID, ErrNotFound)
		}
		if err := putJSON(tx.Bucket(bucketOrgs), []byte(o.ID), o); err != nil {
			return err
		}
		return putMember(tx, Member{Org: o.ID, UserID: adminUserID, Role: role.Admin, AddedAt: o.CreatedAt})
	})
	if err != nil {
		return Org{}, fmt.Errorf("create organization: %w", err)
	}
	return o, nil
}

// Org returns an organization.
func (s *Store) Org(ctx context.Context, id string) (Org, error) {
	var o Org
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketOrgs), []byte(id), &o)
	})
	return o, err
}

// OrgsOf lists the organizations a user belongs to, by name.
func (s *Store) OrgsOf(ctx context.Context, userID string) ([]OrgRole, error) {
	var out []OrgRole
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketMemberOrgs), prefixOf(userID), nil, func(k, _ []byte) (bool, error) {
			org := string(k[len(userID)+1:])
			var o Org
			var m Member
			if err := getJSON(tx.Bucket(bucketOrgs), []byte(org), &o); err != nil {
				return false, err
			}
			if err := getJSON(tx.Bucket(bucketMembers), pair(org, userID), &m); err != nil {
				return false, err
			}
			out = append(out, OrgRole{Org: o, Role: m.Role})
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org.Name != out[j].Org.Name {
			return out[i].Org.Name < out[j].Org.Name
		}
		return out[i].Org.ID < out[j].Org.ID
	})
	return out, err
}

// RenameOrg changes an organization's name.
func (s *Store) RenameOrg(ctx context.Context, id, name string) (Org, error) {
	return s.UpdateOrg(ctx, id, func(o *Org) error { o.Name = name; return nil })
}

// UpdateOrg changes an organization's settings through fn.
func (s *Store) UpdateOrg(ctx context.Context, id string, fn func(*Org) error) (Org, error) {
	var o Org
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOrgs)
		if err := getJSON(b, []byte(id), &o); err != nil {
			return err
		}
		if err := fn(&o); err != nil {
			return err
		}
		o.ID = id
		return putJSON(b, []byte(id), o)
	})
	return o, err
}

// DeleteOrg removes an organization and everything it owns: memberships, clients and
// their tokens, invitations, groups, devices and edge hosts with their enrollment tokens.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(id)) == nil {
			return ErrNotFound
		}
		members, err := deletePrefix(tx.Bucket(bucketMembers), prefixOf(id))
		if err != nil {
			return err
		}
		for _, k := range members {
			user := string(k[len(id)+1:])
			if err := tx.Bucket(bucketMemberOrgs).Delete(pair(user, id)); err != nil {
				return err
			}
		}
		clients, err := deletePrefix(tx.Bucket(bucketOrgClients), prefixOf(id))
		if err != nil {
			return err
		}
		for _, k := range clients {
			if err := deleteClient(tx, string(k[len(id)+1:])); err != nil {
				return err
			}
		}
		invs := tx.Bucket(bucketInvitations)
		if err := scanPrefix(invs, prefixOf(id), nil, func(_, v []byte) (bool, error) {
			var inv Invitation
			if err := decode(v, &inv); err != nil {
				return false, err
			}
			return true, tx.Bucket(bucketInvitationCodes).Delete(inv.CodeHash)
		}); err != nil {
			return err
		}
		if _, err := deletePrefix(invs, prefixOf(id)); err != nil {
			return err
		}
		if _, err := deletePrefix(tx.Bucket(bucketGroups), prefixOf(id)); err != nil {
			return err
		}
		devices, err := deletePrefix(tx.Bucket(bucketDevices), prefixOf(id))
		if err != nil {
			return err
		}
		for _, k := range devices {
			serial := string(k[len(id)+1:])
			if err := tx.Bucket(bucketDeviceOrgs).Delete(pair(serial, id)); err != nil {
				return err
			}
			if ownerOf(tx, serial) == id {
				if err := tx.Bucket(bucketDeviceOwners).Delete([]byte(serial)); err != nil {
					return err
				}
			}
		}
		hosts := tx.Bucket(bucketEdgeHosts)
		if err := scanPrefix(hosts, prefixOf(id), nil, func(_, v []byte) (bool, error) {
			var h EdgeHost
			if err := decode(v, &h); err != nil {
				return false, err
			}
			return true, tx.Bucket(bucketEnrollmentTokens).Delete(h.TokenHash)
		}); err != nil {
			return err
		}
		if _, err := deletePrefix(hosts, prefixOf(id)); err != nil {
			return err
		}
		jobs, err := deletePrefix(tx.Bucket(bucketJobs), prefixOf(id))
		if err != nil {
			return err
		}
		for _, k := range jobs {
			if _, err := deletePrefix(tx.Bucket(bucketJobTasks), prefixOf(string(k[len(id)+1:]))); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bucketActiveJobs, bucketTasks, bucketTaskLog, bucketProfiles, bucketVMS, bucketDiscovered} {
			if _, err := deletePrefix(tx.Bucket(b), prefixOf(id)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketOrgs).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete organization %s: %w", id, err)
	}
	return nil
}

// Member returns one membership, with the user's e-mail address.
func (s *Store) Member(ctx context.Context, org, userID string) (Member, error) {
	var m Member
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		m, err = member(tx, org, userID)
		return err
	})
	return m, err
}

// MemberRole is a member's role in an organization: what authorizing a request needs,
// without the rest of Member.
func (s *Store) MemberRole(ctx context.Context, org, userID string) (role.Role, error) {
	var m Member
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		m, err = s.members.get(tx.Bucket(bucketMembers), pair(org, userID))
		return err
	})
	return m.Role, err
}

func member(tx *bolt.Tx, org, userID string) (Member, error) {
	var m Member
	if err := getJSON(tx.Bucket(bucketMembers), pair(org, userID), &m); err != nil {
		return Member{}, err
	}
	var u User
	if err := getJSON(tx.Bucket(bucketUsers), []byte(userID), &u); err == nil {
		m.Email = u.Email
	}
	return m, nil
}

// Members lists an organization's members by e-mail address.
func (s *Store) Members(ctx context.Context, org string) ([]Member, error) {
	var out []Member
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketMembers), prefixOf(org), nil, func(k, _ []byte) (bool, error) {
			m, err := member(tx, org, string(k[len(org)+1:]))
			out = append(out, m)
			return true, err
		})
	})
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Email, out[j].Email) < 0 })
	return out, err
}

// AddMember adds a user to an organization; ErrExists if already a member.
func (s *Store) AddMember(ctx context.Context, org, userID string, r role.Role) (Member, error) {
	m := Member{Org: org, UserID: userID, Role: r, AddedAt: s.now().UTC()}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOrgs).Get([]byte(org)) == nil || tx.Bucket(bucketUsers).Get([]byte(userID)) == nil {
			return ErrNotFound
		}
		if tx.Bucket(bucketMembers).Get(pair(org, userID)) != nil {
			return ErrExists
		}
		return putMember(tx, m)
	})
	return m, err
}

// SetMemberRole changes a member's role; ErrLastAdmin if that demotes the last admin.
func (s *Store) SetMemberRole(ctx context.Context, org, userID string, r role.Role) (Member, error) {
	var m Member
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if m, err = member(tx, org, userID); err != nil {
			return err
		}
		if m.Role == role.Admin && r != role.Admin {
			if n, err := countAdmins(tx, org); err != nil || n <= 1 {
				return cmpErr(err, ErrLastAdmin)
			}
		}
		m.Role = r
		return putMember(tx, m)
	})
	return m, err
}

// RemoveMember removes a user from an organization; ErrLastAdmin for its last admin.
// Access ends at once: every request checks the membership, not the token.
func (s *Store) RemoveMember(ctx context.Context, org, userID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		if err := removeMember(tx, org, userID); err != nil {
			return err
		}
		return tx.Bucket(bucketMemberOrgs).Delete(pair(userID, org))
	})
}

func removeMember(tx *bolt.Tx, org, userID string) error {
	var m Member
	if err := getJSON(tx.Bucket(bucketMembers), pair(org, userID), &m); err != nil {
		return err
	}
	if m.Role == role.Admin {
		if n, err := countAdmins(tx, org); err != nil || n <= 1 {
			return cmpErr(err, ErrLastAdmin)
		}
	}
	return tx.Bucket(bucketMembers).Delete(pair(org, userID))
}

func putMember(tx *bolt.Tx, m Member) error {
	m.Email = ""
	if err := putJSON(tx.Bucket(bucketMembers), pair(m.Org, m.UserID), m); err != nil {
		return err
	}
	return tx.Bucket(bucketMemberOrgs).Put(pair(m.UserID, m.Org), present)
}

func countAdmins(tx *bolt.Tx, org string) (int, error) {
	n := 0
	err := scanPrefix(tx.Bucket(bucketMembers), prefixOf(org), nil, func(_, v []byte) (bool, error) {
		var m Member
		if err := decode(v, &m); err != nil {
			return false, err
		}
		if m.Role == role.Admin {
			n++
		}
		return true, nil
	})
	return n, err
}

// cmpErr returns err when it is set, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// ErrAmbiguous: more than one record matches a name.
var ErrAmbiguous = errors.New("store: several organizations have this name; use its ID")

// OrgByName finds the ID of the one organization with exactly this name, among all of
// them (for the admin commands; the API looks names up among the caller's organizations).
func (s *Store) OrgByName(ctx context.Context, name string) (string, error) {
	var id string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOrgs).ForEach(func(k, v []byte) error {
			var o Org
			if err := decode(v, &o); err != nil {
				return err
			}
			if o.Name != name {
				return nil
			}
			if id != "" {
				return ErrAmbiguous
			}
			id = o.ID
			return nil
		})
	})
	if err == nil && id == "" {
		err = ErrNotFound
	}
	return id, err
}
