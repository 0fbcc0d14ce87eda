package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/oak"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// checked fails the test when the store's invariants do not hold.
func checked(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("store check: %v", err)
	}
}

func auditActions(t *testing.T, s *Store, org, serial string) []string {
	t.Helper()
	entries, _, err := s.Audit(context.Background(), org, AuditFilter{Serial: serial}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

// Records that prove nothing (a light registration, a claim no agent proved) block no
// one; the agent's proof of the key makes one organization the owner and ends the
// others' records; then a wrong key is refused and a right one is a conflict.
func TestUnprovenRecordsBlockNoOne(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	owner := must[Org](t)(s.CreateOrg(ctx, "Owner", u.ID))
	squatter := must[Org](t)(s.CreateOrg(ctx, "Squatter", u.ID))
	other := must[Org](t)(s.CreateOrg(ctx, "Other", u.ID))
	const serial = "ACCC8E000001"
	real := must[[]byte](t)(oak.DeriveKey(serial, "REAL-OAK-1234"))
	madeUp := must[[]byte](t)(oak.DeriveKey(serial, "MADE-UP-0000"))

	must[Device](t)(s.RegisterDevice(ctx, Device{Org: squatter.ID, Serial: serial}))
	if _, created, err := s.ClaimDevice(ctx, Device{Org: squatter.ID, Serial: serial}, madeUp); err != nil || created {
		t.Fatalf("squatter's claim over its registration: created %v, %v", created, err)
	}
	must[Device](t)(s.RegisterDevice(ctx, Device{Org: other.ID, Serial: serial}))
	if d, created, err := s.ClaimDevice(ctx, Device{Org: owner.ID, Serial: serial}, real); err != nil || !created || d.Proven {
		t.Fatalf("the real owner's claim beside unproven ones: %+v created %v, %v", d, created, err)
	}
	checked(t, s)

	nonce, binding := []byte("nonce"), []byte("binding")
	d, err := s.VerifyDeviceProof(ctx, serial, nonce, binding, oak.Proof(real, serial, nonce, binding))
	if err != nil || d.Org != owner.ID {
		t.Fatalf("proof of the real key matched %+v, %v; want the owner's claim", d, err)
	}
	if _, err := s.VerifyDeviceProof(ctx, serial, nonce, binding, oak.Proof(must[[]byte](t)(oak.DeriveKey(serial, "NOBODYS-KEY")), serial, nonce, binding)); !errors.Is(err, ErrProof) {
		t.Fatalf("proof of a key nobody claimed: %v", err)
	}
	if d = must[Device](t)(s.MarkDeviceEnrolled(ctx, owner.ID, serial)); !d.Proven || !d.OAKVerified {
		t.Fatalf("enrolled device: %+v", d)
	}
	checked(t, s)
	for _, org := range []string{squatter.ID, other.ID} {
		if _, err := s.Device(ctx, org, serial); !errors.Is(err, ErrNotFound) {
			t.Errorf("an unproven record outlived the proof: %v", err)
		}
		if got := auditActions(t, s, org, serial); !slices.Contains(got, AuditDeviceRemoved) {
			t.Errorf("removal not audited in %s: %v", org, got)
		}
	}
	if got := auditActions(t, s, owner.ID, serial); !slices.Contains(got, AuditDeviceProven) {
		t.Errorf("proof not audited: %v", got)
	}

	// Now it is proven: a wrong key is refused, the right one is a conflict, a light
	// registration too, and nothing is stored for the other organization.
	if _, _, err := s.ClaimDevice(ctx, Device{Org: squatter.ID, Serial: serial}, madeUp); !errors.Is(err, ErrOAKMismatch) {
		t.Errorf("claim with a wrong key of a proven device: %v", err)
	}
	if _, _, err := s.ClaimDevice(ctx, Device{Org: squatter.ID, Serial: serial}, real); !errors.Is(err, ErrClaimedElsewhere) {
		t.Errorf("claim with the right key of a device another organization proved: %v", err)
	}
	if _, err := s.RegisterDevice(ctx, Device{Org: squatter.ID, Serial: serial}); !errors.Is(err, ErrClaimedElsewhere) {
		t.Errorf("registration of a proven device: %v", err)
	}
	if _, _, err := s.ClaimDevice(ctx, Device{Org: owner.ID, Serial: serial}, madeUp); !errors.Is(err, ErrOAKMismatch) {
		t.Errorf("the owner's own claim with a wrong key: %v", err)
	}
	if _, err := s.Device(ctx, squatter.ID, serial); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused attempt stored a record: %v", err)
	}
	if d := must[Device](t)(s.Device(ctx, owner.ID, serial)); !slices.Equal(d.OAKKey, real) || d.AgentID == "" {
		t.Errorf("the owner's record changed: %+v", d)
	}
	checked(t, s)
}

// Onboarding through an edge host proves the device; reports of an edge host never add
// a device nor move one; a device moves only by onboarding through the other host; a
// deleted device stays deleted while its old host reports it, which is told to forget it.
func TestReportsNeitherAddNorMoveDevices(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	squatter := must[Org](t)(s.CreateOrg(ctx, "B", u.ID))
	host := func(name string) EdgeHost {
		_, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
		return must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, name, hash, c.Now().Add(time.Hour)))
	}
	h1, h2 := host("site-1"), host("site-2")
	const serial = "ACCC8E000002"
	report := func(h EdgeHost, serials ...string) ReportResult {
		t.Helper()
		var reps []linkapi.DeviceReport
		for _, sr := range serials {
			reps = append(reps, linkapi.DeviceReport{Serial: sr, Reachable: true, FirmwareVersion: "12.0." + h.Name})
		}
		return must[ReportResult](t)(s.ReportDevices(ctx, org.ID, h.ID, reps))
	}
	onboarded := func(h EdgeHost, task string) {
		t.Helper()
		queued := linkapi.TaskReport{ID: task, Kind: "onboard", Serial: serial, State: taskstate.Queued, CreatedBy: "agent",
			Transitions: []linkapi.Transition{{State: taskstate.Queued, At: c.Now()}}}
		if _, err := s.PutOnboardTasks(ctx, org.ID, h.ID, u.ID, []linkapi.TaskReport{queued}); err != nil {
			t.Fatal(err)
		}
		done := queued
		done.State, done.Transitions = taskstate.Succeeded, append(done.Transitions, linkapi.Transition{State: taskstate.Succeeded, At: c.Now()})
		if _, err := s.PutTasks(ctx, org.ID, h.ID, []linkapi.TaskReport{done}); err != nil {
			t.Fatal(err)
		}
	}

	must[Device](t)(s.RegisterDevice(ctx, Device{Org: squatter.ID, Serial: serial}))
	if res := report(h1, serial); !slices.Equal(res.Ignored, []string{serial}) {
		t.Fatalf("report of an unknown serial: %+v", res)
	}
	if _, err := s.Device(ctx, org.ID, serial); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a report added a device: %v", err)
	}
	// An onboarding the agent reports on its own, not asked for, proves nothing.
	if _, err := s.PutTasks(ctx, org.ID, h1.ID, []linkapi.TaskReport{{ID: "tsk_self", Kind: "onboard", Serial: serial, State: taskstate.Succeeded, CreatedBy: "agent",
		Transitions: []linkapi.Transition{{State: taskstate.Succeeded, At: c.Now()}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Device(ctx, org.ID, serial); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an onboarding nobody asked for added a device: %v", err)
	}
	onboarded(h1, "tsk_on1")
	d := must[Device](t)(s.Device(ctx, org.ID, serial))
	if !d.Proven || d.EdgeHost != h1.ID || d.EffectiveMode() != ModeManaged {
		t.Fatalf("onboarded device: %+v", d)
	}
	if _, err := s.Device(ctx, squatter.ID, serial); !errors.Is(err, ErrNotFound) {
		t.Errorf("the other organization's unproven record outlived the onboarding: %v", err)
	}
	checked(t, s)

	report(h1, serial)
	before := must[Device](t)(s.Device(ctx, org.ID, serial))
	if res := report(h2, serial); !slices.Equal(res.Ignored, []string{serial}) {
		t.Errorf("another edge host's report: %+v", res)
	}
	if after := must[Device](t)(s.Device(ctx, org.ID, serial)); after.EdgeHost != h1.ID || after.FirmwareVersion != before.FirmwareVersion {
		t.Fatalf("another edge host's report changed the device: %+v", after)
	}

	// The explicit move: onboarding through the other host.
	onboarded(h2, "tsk_on2")
	if d := must[Device](t)(s.Device(ctx, org.ID, serial)); d.EdgeHost != h2.ID {
		t.Fatalf("after onboarding through %s: %+v", h2.ID, d)
	}
	if got := auditActions(t, s, org.ID, serial); !slices.Contains(got, AuditDeviceMove) {
		t.Errorf("move not audited: %v", got)
	}
	if res := report(h1, serial); !slices.Equal(res.Forget, []string{serial}) {
		t.Errorf("the old edge host is not told to forget the device: %+v", res)
	}
	if d := must[Device](t)(s.Device(ctx, org.ID, serial)); d.EdgeHost != h2.ID {
		t.Fatalf("the old edge host's report took the device back: %+v", d)
	}
	report(h1) // it forgot
	if h := must[EdgeHost](t)(s.EdgeHost(ctx, org.ID, h1.ID)); len(h.Forget) != 0 {
		t.Errorf("still to forget after a report without it: %v", h.Forget)
	}

	// Deleted while its host keeps reporting: not recreated, and the host is told.
	if _, err := s.DeleteDevice(ctx, org.ID, serial); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if res := report(h2, serial); !slices.Equal(res.Forget, []string{serial}) {
			t.Errorf("report of a deleted device: %+v", res)
		}
	}
	if _, err := s.Device(ctx, org.ID, serial); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reports brought a deleted device back: %v", err)
	}
	checked(t, s)
	// Onboarded again through it: managed again, and nothing left to forget.
	onboarded(h2, "tsk_on3")
	if d := must[Device](t)(s.Device(ctx, org.ID, serial)); d.EdgeHost != h2.ID {
		t.Fatalf("onboarded again: %+v", d)
	}
	if res := report(h2, serial); len(res.Forget)+len(res.Ignored) != 0 {
		t.Errorf("report after onboarding again: %+v", res)
	}
	checked(t, s)
}
