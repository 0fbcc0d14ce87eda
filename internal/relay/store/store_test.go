package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// open opens a store in a temporary directory and checks its invariants at the end.
func open(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "relay.db"), Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, c
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestLockedByAnotherOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestOrgsMembersLastAdmin(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	alice := must[User](t)(s.CreateUser(ctx, "alice@example.com", "h"))
	bob := must[User](t)(s.CreateUser(ctx, "bob@example.com", "h"))
	if _, err := s.CreateUser(ctx, "ALICE@example.com", "h"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate e-mail: %v", err)
	}
	if _, err := s.CreateUser(ctx, "Alice <x@y>", "h"); !errors.Is(err, ErrBadEmail) {
		t.Errorf("bad e-mail: %v", err)
	}
	org := must[Org](t)(s.CreateOrg(ctx, "Acme", alice.ID))
	must[Member](t)(s.AddMember(ctx, org.ID, bob.ID, role.Viewer))
	if _, err := s.AddMember(ctx, org.ID, bob.ID, role.Admin); !errors.Is(err, ErrExists) {
		t.Errorf("second add: %v", err)
	}
	if _, err := s.SetMemberRole(ctx, org.ID, alice.ID, role.Operator); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demote last admin: %v", err)
	}
	if err := s.RemoveMember(ctx, org.ID, alice.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("remove last admin: %v", err)
	}
	if err := s.DeleteUser(ctx, alice.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("delete last admin: %v", err)
	}
	must[Member](t)(s.SetMemberRole(ctx, org.ID, bob.ID, role.Admin))
	if err := s.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	members := must[[]Member](t)(s.Members(ctx, org.ID))
	if len(members) != 1 || members[0].Email != "bob@example.com" || members[0].Role != role.Admin {
		t.Errorf("members after delete: %+v", members)
	}
	orgs := must[[]OrgRole](t)(s.OrgsOf(ctx, bob.ID))
	if len(orgs) != 1 || orgs[0].Org.Name != "Acme" {
		t.Errorf("OrgsOf = %+v", orgs)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	tok, hash := auth.NewSecret(auth.PrefixAccessToken)
	_ = tok
	if err := s.CreateToken(ctx, hash, Token{Kind: TokenUser, Subject: u.ID, ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, hash); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if _, err := s.LookupToken(ctx, hash); !errors.Is(err, ErrExpired) {
		t.Errorf("expired token: %v", err)
	}
	if n, err := s.DeleteExpiredTokens(ctx); err != nil || n != 1 {
		t.Errorf("DeleteExpiredTokens = %d, %v", n, err)
	}
	_, h2 := auth.NewSecret(auth.PrefixAccessToken)
	_ = s.CreateToken(ctx, h2, Token{Kind: TokenUser, Subject: u.ID, ExpiresAt: c.Now().Add(time.Hour)})
	if err := s.SetPassword(ctx, u.ID, "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, h2); !errors.Is(err, ErrNotFound) {
		t.Errorf("token after password reset: %v", err)
	}
}

func TestInvitations(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	admin := must[User](t)(s.CreateUser(ctx, "admin@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "Acme", admin.ID))
	_, code := auth.NewSecret(auth.PrefixInvitation)
	must[Invitation](t)(s.CreateInvitation(ctx, Invitation{Org: org.ID, Role: role.Operator, Email: "new@example.com", ExpiresAt: c.Now().Add(time.Hour)}, code))
	if _, err := s.AcceptInvitation(ctx, code, "", &NewUser{Email: "other@example.com", PasswordHash: "h"}); !errors.Is(err, ErrEmailMismatch) {
		t.Errorf("wrong e-mail: %v", err)
	}
	m, err := s.AcceptInvitation(ctx, code, "", &NewUser{Email: "new@example.com", PasswordHash: "h"})
	if err != nil || m.Role != role.Operator {
		t.Fatalf("accept: %+v %v", m, err)
	}
	if _, err := s.AcceptInvitation(ctx, code, admin.ID, nil); !errors.Is(err, ErrUsed) {
		t.Errorf("second accept: %v", err)
	}
	_, code2 := auth.NewSecret(auth.PrefixInvitation)
	must[Invitation](t)(s.CreateInvitation(ctx, Invitation{Org: org.ID, Role: role.Viewer, ExpiresAt: c.Now().Add(time.Hour)}, code2))
	c.Add(2 * time.Hour)
	if _, err := s.AcceptInvitation(ctx, code2, admin.ID, nil); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.AcceptInvitation(ctx, [32]byte{}, admin.ID, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func TestDevicesClaimAndPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	a := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	b := must[Org](t)(s.CreateOrg(ctx, "B", u.ID))
	key, err := oak.DeriveKey("ACCC8E000001", "ABCD-EFGH-JKLM")
	if err != nil {
		t.Fatal(err)
	}
	d, created, err := s.ClaimDevice(ctx, Device{Org: a.ID, Serial: "accc8e000001", Model: "P3265-V"}, key)
	if err != nil || !created || d.Status != StatusClaimed || d.Serial != "ACCC8E000001" {
		t.Fatalf("claim: %+v %v %v", d, created, err)
	}
	if _, err := s.Device(ctx, b.ID, "ACCC8E000001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("B sees A's device: %v", err)
	}
	if _, err := s.RegisterDevice(ctx, Device{Org: a.ID, Serial: "nothex000000"}); !errors.Is(err, ErrBadSerial) {
		t.Errorf("bad serial: %v", err)
	}
	nonce, binding := []byte("n"), []byte("b")
	proof := oak.Proof(key, "ACCC8E000001", nonce, binding)
	if _, err := s.VerifyDeviceProof(ctx, "ACCC8E000001", nonce, binding, proof); err != nil {
		t.Errorf("good proof: %v", err)
	}
	wrong, _ := oak.DeriveKey("ACCC8E000001", "WRONG-KEY-123")
	if _, err := s.VerifyDeviceProof(ctx, "ACCC8E000001", nonce, binding, oak.Proof(wrong, "ACCC8E000001", nonce, binding)); !errors.Is(err, ErrProof) {
		t.Errorf("wrong key: %v", err)
	}
	for _, serial := range []string{"ACCC8E000005", "ACCC8E000003", "ACCC8E000004", "ACCC8E000002"} {
		must[Device](t)(s.RegisterDevice(ctx, Device{Org: a.ID, Serial: serial, Model: "M1075-L"}))
	}
	var all []string
	cursor := ""
	for range 10 {
		page, next, err := s.ListDevices(ctx, a.ID, DeviceFilter{Model: "m1075-l"}, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			all = append(all, d.Serial)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 4 || all[0] != "ACCC8E000002" || all[3] != "ACCC8E000005" {
		t.Errorf("paged list = %v", all)
	}
	if _, _, err := s.ListDevices(ctx, a.ID, DeviceFilter{}, "!!", 3); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	g := must[Group](t)(s.CreateGroup(ctx, a.ID, "Lobby", ""))
	if _, err := s.UpdateDevice(ctx, a.ID, "ACCC8E000002", func(d *Device) error { d.Group = "grp_nope"; return nil }); !errors.Is(err, ErrNoSuchGroup) {
		t.Errorf("unknown group: %v", err)
	}
	must[Device](t)(s.UpdateDevice(ctx, a.ID, "ACCC8E000002", func(d *Device) error { d.Group = g.ID; return nil }))
	if err := s.DeleteGroup(ctx, a.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	if d := must[Device](t)(s.Device(ctx, a.ID, "ACCC8E000002")); d.Group != "" {
		t.Errorf("group kept after delete: %+v", d)
	}
	if err := s.DeleteOrg(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	must[Device](t)(s.RegisterDevice(ctx, Device{Org: b.ID, Serial: "ACCC8E000001"}))
}

func TestEnrollmentAndConnection(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	tok, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site-1", hash, c.Now().Add(time.Hour)))
	if _, _, err := s.ConsumeEnrollmentToken(ctx, "cce_nope"); !errors.Is(err, ErrEnrollmentTokenUnknown) {
		t.Errorf("unknown: %v", err)
	}
	gotOrg, gotID, err := s.ConsumeEnrollmentToken(ctx, tok)
	if err != nil || gotOrg != org.ID || gotID != h.ID {
		t.Fatalf("consume = %s %s %v", gotOrg, gotID, err)
	}
	if _, _, err := s.ConsumeEnrollmentToken(ctx, tok); !errors.Is(err, ErrEnrollmentTokenUsed) {
		t.Errorf("reuse: %v", err)
	}
	tok2, hash2 := auth.NewSecret(auth.PrefixEnrollmentToken)
	must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site-2", hash2, c.Now().Add(time.Hour)))
	c.Add(time.Hour)
	if _, _, err := s.ConsumeEnrollmentToken(ctx, tok2); !errors.Is(err, ErrEnrollmentTokenExpired) {
		t.Errorf("expired: %v", err)
	}

	must[Device](t)(s.OnboardDevice(ctx, org.ID, h.ID, "ACCC8E0000AA", u.ID))
	res, err := s.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: "ACCC8E0000AA", Model: "P3265-V", FirmwareVersion: "11.11.1", Reachable: true}, {Serial: "bad"}})
	if err != nil || len(res.Ignored) != 1 {
		t.Fatalf("report: %+v %v", res, err)
	}
	if err := s.SetAgentConnection(ctx, org.ID, h.ID, true, c.Now()); err != nil {
		t.Fatal(err)
	}
	got := must[EdgeHost](t)(s.EdgeHost(ctx, org.ID, h.ID))
	if !got.Connected || !got.LastSeen.Equal(c.Now()) || got.EnrolledAt.IsZero() {
		t.Errorf("edge host after connect: %+v", got)
	}
	if err := s.SetAgentConnection(ctx, org.ID, h.ID, false, c.Now()); err != nil {
		t.Fatal(err)
	}
	if d := must[Device](t)(s.Device(ctx, org.ID, "ACCC8E0000AA")); d.Connected || d.EdgeHost != h.ID || !d.Deep() {
		t.Errorf("device after edge host went down: %+v", d)
	}
	if err := s.SetAgentConnection(ctx, "org_other", h.ID, true, c.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("connection in another organization: %v", err)
	}
	_ = s.SetAgentConnection(ctx, org.ID, h.ID, true, c.Now())
	if err := s.MarkAllAgentsDisconnected(ctx); err != nil {
		t.Fatal(err)
	}
	if got := must[EdgeHost](t)(s.EdgeHost(ctx, org.ID, h.ID)); got.Connected {
		t.Error("still connected after MarkAllAgentsDisconnected")
	}
	if err := s.DeleteEdgeHost(ctx, org.ID, h.ID); err != nil {
		t.Fatal(err)
	}
}
