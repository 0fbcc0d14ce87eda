package account

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// memStore keeps the agent's passwords for one device, as the agent's store does;
// onPending runs when a new password is stored pending (to break the device's next
// answer).
type memStore struct {
	mu               sync.Mutex
	current, pending string
	onPending        func()
}

func (s *memStore) Passwords(string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current, s.pending, nil
}

func (s *memStore) SetPassword(_ string, p string, pending bool) error {
	s.mu.Lock()
	if pending {
		s.pending = p
	} else {
		s.current, s.pending = p, ""
	}
	f := s.onPending
	s.mu.Unlock()
	if pending && f != nil {
		f()
	}
	return nil
}

func (s *memStore) get() (current, pending string) {
	c, p, _ := s.Passwords("")
	return c, p
}

// accountChanges passes requests to the device, but for account changes (pwdgrp.cgi):
// with lose set, the device applies the change and its answer is lost (a broken
// connection, as when the agent times out or crashes after the device acted); with
// ignore set, the change is answered OK but never reaches the device.
type accountChanges struct {
	lose, ignore atomic.Bool
}

func (a *accountChanges) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/axis-cgi/pwdgrp.cgi" {
		return http.DefaultTransport.RoundTrip(req)
	}
	if a.ignore.Load() {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("OK")), Request: req}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !a.lose.Load() {
		return resp, err
	}
	resp.Body.Close()
	return nil, errors.New("connection reset by peer (the answer was lost)")
}

// rootAccount is the agent's account as the camera's root account, its password the
// camera's.
func rootAccount(cam *camsim.Camera, tr http.RoundTripper) (Account, *memStore) {
	st := &memStore{current: camsimtest.Password}
	return accountOn(cam, camsimtest.User, st, tr), st
}

func accountOn(cam *camsim.Camera, user string, st Store, tr http.RoundTripper) Account {
	d := devstore.Device{Serial: cam.Info().Serial, User: user}
	return On(d, strings.TrimPrefix(cam.Info().HTTP, "http://"), st, vapix.Config{Transport: tr, Timeout: 5 * time.Second})
}

// takes reports whether the device takes password for the account.
func takes(t *testing.T, a Account, password string) bool {
	t.Helper()
	err := a.check(context.Background(), password)
	if err != nil && !refused(err) {
		t.Fatalf("ask the device: %v", err)
	}
	return err == nil
}

// checkRotated checks that the agent holds a new current password that the device
// takes, the old one refused, and nothing pending.
func checkRotated(t *testing.T, a Account, st *memStore, old string) {
	t.Helper()
	current, pending := st.get()
	if current == old || pending != "" {
		t.Fatalf("after the rotation: current changed %v, pending %q", current != old, pending)
	}
	if !takes(t, a, current) {
		t.Fatal("the agent's current password does not work on the device")
	}
	if takes(t, a, old) {
		t.Fatal("the device still takes the old password")
	}
}

func TestRotate(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	a, st := rootAccount(cam, nil)
	if err := Rotate(t.Context(), a, nil); err != nil {
		t.Fatal(err)
	}
	checkRotated(t, a, st, camsimtest.Password)
}

// A password change the device refused (it answers 500, and cannot then be asked which
// password it takes) keeps both passwords; the next use settles: the current one still
// works, and the pending one is dropped. The only working password is never lost.
func TestRefusedChangeNeverLosesTheWorkingPassword(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	a, st := rootAccount(cam, nil)
	st.onPending = func() { cam.SetFaults(camsim.Faults{ErrorRate: 1}) }
	if err := Rotate(t.Context(), a, nil); err == nil {
		t.Fatal("the rotation succeeded though the device refused the change")
	}
	if current, pending := st.get(); current != camsimtest.Password || pending == "" {
		t.Fatalf("after the refused change: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	cam.SetFaults(camsim.Faults{})
	st.onPending = nil
	if p, err := Settle(t.Context(), a); err != nil || p != camsimtest.Password {
		t.Fatalf("settle: current is the working password %v, %v", p == camsimtest.Password, err)
	}
	if current, pending := st.get(); current != camsimtest.Password || pending != "" {
		t.Fatalf("after settling: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	if err := Rotate(t.Context(), a, nil); err != nil {
		t.Fatalf("rotate again: %v", err)
	}
	checkRotated(t, a, st, camsimtest.Password)
}

// A device that answers the change OK but keeps the old password: the new one never
// becomes current, and since the device is known to take the current one, it is dropped.
func TestChangeAnsweredButNotTakenKeepsCurrent(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	changes := &accountChanges{}
	changes.ignore.Store(true)
	a, st := rootAccount(cam, changes)
	if err := Rotate(t.Context(), a, nil); err == nil {
		t.Fatal("the rotation succeeded though the device kept the old password")
	}
	if current, pending := st.get(); current != camsimtest.Password || pending != "" {
		t.Fatalf("after the change the device did not take: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
	if !takes(t, a, camsimtest.Password) {
		t.Fatal("the device no longer takes the agent's password")
	}
}

// A change the device applied but whose answer was lost: the device is asked, takes the
// new password, and that one becomes current.
func TestChangeWithLostAnswerIsConfirmedByTheDevice(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	changes := &accountChanges{}
	changes.lose.Store(true)
	a, st := rootAccount(cam, changes)
	if err := Rotate(t.Context(), a, nil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	checkRotated(t, a, st, camsimtest.Password)
}

// The agent stopped between storing the pending password and the device changing it:
// the next use finds the device refusing the pending one and taking the current one.
func TestInterruptedBeforeTheDeviceChangedIsSettled(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	a, st := rootAccount(cam, nil)
	st.pending = NewPassword()
	if p, err := Settle(t.Context(), a); err != nil || p != camsimtest.Password {
		t.Fatalf("settle: current is the working password %v, %v", p == camsimtest.Password, err)
	}
	if current, pending := st.get(); current != camsimtest.Password || pending != "" {
		t.Fatalf("after settling: current changed %v, pending %q", current != camsimtest.Password, pending)
	}
}

// The agent stopped after the device took the pending password and before it recorded
// so: the next use finds the device taking the pending one, which becomes current; a
// rotation that finds it so is done without another change.
func TestInterruptedAfterTheDeviceChangedIsSettled(t *testing.T) {
	for _, via := range []string{"settle", "rotate"} {
		t.Run(via, func(t *testing.T) {
			cam := camsimtest.Start(t, 1).Cameras()[0]
			a, st := rootAccount(cam, nil)
			next := NewPassword()
			st.pending = next
			root, err := a.Open(camsimtest.Password)
			if err != nil {
				t.Fatal(err)
			}
			defer root.CloseIdleConnections()
			if err := root.UpdateUser(t.Context(), camsimtest.User, next, ""); err != nil {
				t.Fatal(err)
			}
			switch via {
			case "settle":
				if p, err := Settle(t.Context(), a); err != nil || p != next {
					t.Fatalf("settle: the pending password %v, %v", p == next, err)
				}
			case "rotate":
				if err := Rotate(t.Context(), a, nil); err != nil {
					t.Fatalf("rotate: %v", err)
				}
			}
			checkRotated(t, a, st, camsimtest.Password)
			if current, _ := st.get(); current != next {
				t.Fatal("the agent changed the password again instead of keeping the one the device took")
			}
		})
	}
}

// A device that cannot be asked changes neither password; one that takes neither is
// ErrRefused, and both stay.
func TestSettleChangesNothingItCannotAsk(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	a, st := rootAccount(cam, nil)
	pending := NewPassword()
	st.pending = pending
	cam.SetFaults(camsim.Faults{DropRate: 1})
	if _, err := Settle(t.Context(), a); err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("settle with the device away: %v", err)
	}
	if current, p := st.get(); current != camsimtest.Password || p != pending {
		t.Fatal("settling with the device away changed the agent's passwords")
	}
	cam.SetFaults(camsim.Faults{})
	st.current = NewPassword() // neither is the device's now
	if _, err := Settle(t.Context(), a); !errors.Is(err, ErrRefused) {
		t.Fatalf("settle with neither password working: %v, want ErrRefused", err)
	}
	if _, p := st.get(); p != pending {
		t.Fatal("a device that takes neither password lost the pending one")
	}
}

// TakeOver makes the account with an admin account and keeps the password once the
// device takes it; one the admin account cannot change (an operator) leaves the agent's
// working password current and nothing pending.
func TestTakeOver(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	st := &memStore{}
	a := accountOn(cam, "camcloud", st, nil)
	admin, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.CloseIdleConnections()
	keep := func(p string) error { return st.SetPassword("", p, false) }
	if err := TakeOver(t.Context(), a, admin, false, keep); err != nil {
		t.Fatalf("take over: %v", err)
	}
	first, _ := st.get()
	if first == "" || !takes(t, a, first) {
		t.Fatal("the agent's new account does not work")
	}
	// Again (re-onboarding): a new password.
	if err := TakeOver(t.Context(), a, admin, true, keep); err != nil {
		t.Fatalf("take over again: %v", err)
	}
	checkRotated(t, a, st, first)
	second, _ := st.get()

	if err := admin.AddUser(t.Context(), "op", "op-Pa55word", vapix.RoleOperator, ""); err != nil {
		t.Fatal(err)
	}
	op, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: "op", Password: "op-Pa55word"})
	if err != nil {
		t.Fatal(err)
	}
	defer op.CloseIdleConnections()
	if err := TakeOver(t.Context(), a, op, true, keep); err == nil {
		t.Fatal("a take-over with an operator account succeeded")
	}
	if current, pending := st.get(); current != second || pending != "" || !takes(t, a, second) {
		t.Fatalf("after a failed take-over: current kept %v, pending %q", current == second, pending)
	}
}
