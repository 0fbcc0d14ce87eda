package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// What authorizes a request is read through decodeCache; every change to it must show
// on the very next read, never an answer remembered from before.
func TestCachedReadsFollowWrites(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	admin := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	u := must[User](t)(s.CreateUser(ctx, "b@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", admin.ID))

	// Membership: added, promoted, removed.
	if _, err := s.MemberRole(ctx, org.ID, u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("role before joining: %v", err)
	}
	must[Member](t)(s.AddMember(ctx, org.ID, u.ID, role.Operator))
	if r := must[role.Role](t)(s.MemberRole(ctx, org.ID, u.ID)); r != role.Operator {
		t.Fatalf("role = %v, want operator", r)
	}
	must[Member](t)(s.SetMemberRole(ctx, org.ID, u.ID, role.Viewer))
	if r := must[role.Role](t)(s.MemberRole(ctx, org.ID, u.ID)); r != role.Viewer {
		t.Errorf("role after demotion = %v, want viewer", r)
	}
	if err := s.RemoveMember(ctx, org.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MemberRole(ctx, org.ID, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("role after removal: %v", err)
	}

	// Tokens: revoked, and expired although the cached record did not change.
	_, hash := auth.NewSecret(auth.PrefixAccessToken)
	if err := s.CreateToken(ctx, hash, Token{Kind: TokenUser, Subject: u.ID, ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	must[Token](t)(s.LookupToken(ctx, hash))
	if err := s.RevokeToken(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token: %v", err)
	}
	_, hash = auth.NewSecret(auth.PrefixAccessToken)
	_ = s.CreateToken(ctx, hash, Token{Kind: TokenUser, Subject: u.ID, ExpiresAt: c.Now().Add(time.Hour)})
	must[Token](t)(s.LookupToken(ctx, hash))
	c.Add(time.Hour)
	if _, err := s.LookupToken(ctx, hash); !errors.Is(err, ErrExpired) {
		t.Errorf("expired token: %v", err)
	}

	// Device routes: another organization sees nothing; a move to another agent shows.
	d := must[Device](t)(s.RegisterDevice(ctx, Device{Org: org.ID, Serial: "ACCC8E000001"}))
	if r := must[DeviceRoute](t)(s.DeviceRoute(ctx, org.ID, d.Serial)); r.Agent() != "" {
		t.Fatalf("route of a device no agent manages = %+v", r)
	}
	_, ehHash := auth.NewSecret(auth.PrefixEnrollmentToken)
	eh := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site", ehHash, c.Now().Add(time.Hour)))
	must[Device](t)(s.OnboardDevice(ctx, org.ID, eh.ID, d.Serial, u.ID))
	if r := must[DeviceRoute](t)(s.DeviceRoute(ctx, org.ID, "accc8e000001")); r.Agent() != eh.ID || r.Serial != d.Serial {
		t.Fatalf("route = %+v", r)
	}
	if _, err := s.DeviceRoute(ctx, "org_other", d.Serial); !errors.Is(err, ErrNotFound) {
		t.Errorf("route from another organization: %v", err)
	}
	must[Device](t)(s.MarkDeviceEnrolled(ctx, org.ID, d.Serial))
	if r := must[DeviceRoute](t)(s.DeviceRoute(ctx, org.ID, d.Serial)); r.Agent() != DeviceAgentID(d.Serial) {
		t.Errorf("route after the device got its own agent = %+v", r)
	}
	if _, err := s.DeleteDevice(ctx, org.ID, d.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceRoute(ctx, org.ID, d.Serial); !errors.Is(err, ErrNotFound) {
		t.Errorf("route to a deleted device: %v", err)
	}
}

// A full cache still answers correctly: entries make room for each other.
func TestDecodeCacheBounded(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	s.tokens = newDecodeCache[Token](8)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	var hashes [][32]byte
	for i := range 50 {
		_, h := auth.NewSecret(auth.PrefixAccessToken)
		if err := s.CreateToken(ctx, h, Token{Kind: TokenUser, Subject: u.ID, ExpiresAt: c.Now().Add(time.Duration(i+1) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	for round := range 2 {
		for i, h := range hashes {
			tok, err := s.LookupToken(ctx, h)
			if err != nil || !tok.ExpiresAt.Equal(c.Now().Add(time.Duration(i+1)*time.Minute)) {
				t.Fatalf("round %d token %d: %+v %v", round, i, tok, err)
			}
		}
	}
	if n := len(s.tokens.m); n > 8 {
		t.Errorf("cache holds %d entries, bound 8", n)
	}
}

// The task manager's reads of a job's tasks see every update, from itself and from
// agents' reports.
func TestCachedTaskReadsFollowWrites(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	j := must[Job](t)(s.CreateJob(ctx, Job{Org: org.ID, Kind: "restart"}, []Task{
		{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E000001"}, EdgeHost: "eh_1"},
		{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: "ACCC8E000002"}, EdgeHost: "eh_1"},
	}))
	states := func() map[string]taskstate.State {
		t.Helper()
		ts := must[[]Task](t)(s.Tasks(ctx, org.ID, TaskFilter{JobID: j.ID, NoTransitions: true}, 100))
		out := map[string]taskstate.State{}
		for _, tk := range ts {
			out[tk.Serial] = tk.State
		}
		return out
	}
	ts := must[[]Task](t)(s.Tasks(ctx, org.ID, TaskFilter{JobID: j.ID, NoTransitions: true}, 100))
	if got := states(); got["ACCC8E000001"] != taskstate.Queued || got["ACCC8E000002"] != taskstate.Queued {
		t.Fatalf("new job: %v", got)
	}
	first := ts[0]
	must[Task](t)(s.UpdateTask(ctx, org.ID, first.ID, func(tk *Task) error {
		return tk.Move(taskstate.Dispatched, "", c.Now())
	}))
	if got := states(); got[first.Serial] != taskstate.Dispatched {
		t.Errorf("after dispatch: %v", got)
	}
	report := linkapi.TaskReport{ID: first.ID, Kind: "restart", Serial: first.Serial, Attempt: 1, State: taskstate.Succeeded,
		Transitions: []linkapi.Transition{{State: taskstate.Succeeded, At: c.Now(), Attempt: 1}}}
	if _, err := s.PutTasks(ctx, org.ID, "eh_1", []linkapi.TaskReport{report}); err != nil {
		t.Fatal(err)
	}
	if got := states(); got[first.Serial] != taskstate.Succeeded {
		t.Errorf("after the agent's report: %v", got)
	}
}
