package fleet

import (
	"context"
	"errors"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/account"
	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// Re-onboarding a device (e.g. after a factory reset removed the agent's account) gives
// the account a new password; polling uses it, not the client made with the old one.
func TestReonboardedDeviceIsPolledWithNewPassword(t *testing.T) {
	cam, m, st := onboardedCamera(t)
	serial := cam.Info().Serial
	if tk := onboardAndWait(t, m, st, serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
		t.Fatalf("re-onboarding: %s %s", tk.State, tk.Detail)
	}
	if rep, _ := m.PollDevice(context.Background(), serial); !rep.Reachable {
		t.Fatal("after re-onboarding the device is polled with the old password: unreachable")
	}
}

// operatorOnly adds an operator account to the camera: onboarding with it reaches the
// camera but cannot make the agent's account.
func operatorOnly(t *testing.T, cam *camsim.Camera) (user, pass string) {
	t.Helper()
	root, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer root.CloseIdleConnections()
	if err := root.AddUser(context.Background(), "op", "op-pass", vapix.RoleOperator, ""); err != nil {
		t.Fatal(err)
	}
	return "op", "op-pass"
}

// An onboarding that fails at making the agent's account (the credentials given are an
// operator's) leaves the device unmanaged: not in the store, not in the inventory the
// relay gets (which would make it managed there), not marked onboarded.
func TestFailedOnboardingLeavesNoManagedDevice(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	user, pass := operatorOnly(t, cam)
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second})
	serial := cam.Info().Serial
	if tk := onboardAndWait(t, m, st, serial, user, pass); tk.State != taskstate.Failed {
		t.Fatalf("onboarding with an operator account: %s %s", tk.State, tk.Detail)
	}
	if d, err := st.Device(serial); !errors.Is(err, devstore.ErrNotFound) {
		t.Errorf("failed onboarding left the device in the store (mode %q, err %v)", d.Mode, err)
	}
	if inv, _ := m.Inventory(context.Background()); len(inv) != 0 {
		t.Errorf("the inventory lists %d device(s) whose onboarding failed", len(inv))
	}
	for _, d := range m.Discovered() {
		if d.Onboarded {
			t.Errorf("discovered device %s is marked onboarded", d.Serial)
		}
	}
}

// A failed re-onboarding keeps the password that works on the device, with no pending
// one left behind.
func TestFailedReonboardingKeepsWorkingPassword(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	user, pass := operatorOnly(t, cam)
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second})
	serial := cam.Info().Serial
	if tk := onboardAndWait(t, m, st, serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
		t.Fatalf("onboarding: %s %s", tk.State, tk.Detail)
	}
	if tk := onboardAndWait(t, m, st, serial, user, pass); tk.State != taskstate.Failed {
		t.Fatalf("re-onboarding with an operator account: %s %s", tk.State, tk.Detail)
	}
	m.mu.Lock()
	clear(m.conns) // as after a restart of the agent
	m.mu.Unlock()
	if rep, _ := m.PollDevice(context.Background(), serial); !rep.Reachable {
		t.Fatal("after a failed re-onboarding the agent's stored password no longer works: device lost")
	}
	if _, pending, err := m.Passwords(serial); err != nil || pending != "" {
		t.Errorf("pending password left after a failed re-onboarding: %q, %v", pending, err)
	}
}

// A new password the device took but the agent did not record as taken (it died in
// between) is held pending; the next poll finds the current one refused, tries the
// pending one and makes it current.
func TestPendingPasswordTheDeviceTookIsUsed(t *testing.T) {
	cam, m, st := onboardedCamera(t)
	serial := cam.Info().Serial
	next := account.NewPassword()
	if err := st.SetPassword(serial, next, true); err != nil {
		t.Fatal(err)
	}
	root, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	defer root.CloseIdleConnections()
	if err := root.UpdateUser(context.Background(), "camcloud", next, ""); err != nil {
		t.Fatal(err)
	}
	if rep, _ := m.PollDevice(context.Background(), serial); !rep.Reachable {
		t.Fatal("the device took the pending password, and the agent no longer reaches it")
	}
	if current, pending, err := m.Passwords(serial); err != nil || current != next || pending != "" {
		t.Errorf("after the poll: current is the new password %v, pending %q, %v", current == next, pending, err)
	}
}

// A device found at an address outside the networks the agent may reach (a forged
// mDNS announcement naming the host's loopback) is not sent the admin's credentials:
// onboarding fails on the dial control, and the address sees no request.
func TestOnboardingRefusedByDialControl(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second,
		DialControl: func(_, address string, _ syscall.RawConn) error {
			return errors.New("address " + address + " is not for devices")
		}})
	total := func() (n int64) {
		for v := range maps.Values(cam.Counters().Requests) {
			n += v
		}
		return n
	}
	before := total()
	tk := onboardAndWait(t, m, st, cam.Info().Serial, camsimtest.User, camsimtest.Password)
	if tk.State != taskstate.Failed || !strings.Contains(tk.Detail, "is not for devices") {
		t.Fatalf("onboarding at a refused address: %s %s", tk.State, tk.Detail)
	}
	if after := total(); after != before {
		t.Errorf("the device saw %d requests", after-before)
	}
}

// onboardedCamera is a simulated camera onboarded by a manager that polled it since.
func onboardedCamera(t *testing.T) (*camsim.Camera, *Manager, *devstore.Store) {
	t.Helper()
	cam := camsimtest.Start(t, 1).Cameras()[0]
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second})
	if tk := onboardAndWait(t, m, st, cam.Info().Serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
		t.Fatalf("onboarding: %s %s", tk.State, tk.Detail)
	}
	if rep, _ := m.PollDevice(context.Background(), cam.Info().Serial); !rep.Reachable {
		t.Fatal("not reachable after onboarding")
	}
	return cam, m, st
}

// The inventory that shows an onboarded device is due only once the relay acknowledged
// the onboarding's success: the relay takes the device's report only from then on.
func TestInventoryDueOnceTheRelayHasTheOnboarding(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second})
	if tk := onboardAndWait(t, m, st, cam.Info().Serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
		t.Fatalf("onboarding: %s %s", tk.State, tk.Detail)
	}
	select {
	case <-m.InventoryChanged():
		t.Fatal("the inventory is due before the relay has the onboarding's success")
	default:
	}
	pending, err := m.PendingTasks()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.TasksReported(pending); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.InventoryChanged():
	default:
		t.Fatal("the relay acknowledged the onboarding's success, and the inventory is not due")
	}
}
