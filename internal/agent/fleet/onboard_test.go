package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// Re-onboarding a device (e.g. after a factory reset removed the agent's account) gives
// the account a new password; polling uses it, not the client made with the old one.
func TestReonboardedDeviceIsPolledWithNewPassword(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	m, st := startManager(t, Config{Finder: finderFor(cam), Timeout: 5 * time.Second})
	serial := cam.Info().Serial
	if tk := onboardAndWait(t, m, st, serial, camsimtest.User, camsimtest.Password); tk.State != linkapi.TaskSucceeded {
		t.Fatalf("onboarding: %s %s", tk.State, tk.Detail)
	}
	if rep, _ := m.PollDevice(context.Background(), serial); !rep.Reachable {
		t.Fatal("not reachable after onboarding")
	}
	if tk := onboardAndWait(t, m, st, serial, camsimtest.User, camsimtest.Password); tk.State != linkapi.TaskSucceeded {
		t.Fatalf("re-onboarding: %s %s", tk.State, tk.Detail)
	}
	if rep, _ := m.PollDevice(context.Background(), serial); !rep.Reachable {
		t.Fatal("after re-onboarding the device is polled with the old password: unreachable")
	}
}
