package fleet

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func accounts(t *testing.T, cam *camsim.Camera) []string {
	t.Helper()
	c, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	groups, err := c.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, users := range groups {
		out = append(out, users...)
	}
	return out
}

// Forget removes the agent's own account from the device and drops it from the
// inventory; an account another agent took over (same name, a password this agent does
// not have) is left alone, and the device is dropped all the same.
func TestForget(t *testing.T) {
	cams := camsimtest.Start(t, 2).Cameras()
	m, st := startManager(t, Config{Finder: finderFor(cams...)})
	for _, c := range cams {
		if tk := onboardAndWait(t, m, st, c.Info().Serial, camsimtest.User, camsimtest.Password); tk.State != taskstate.Succeeded {
			t.Fatal(tk.Detail)
		}
	}
	mine, takenOver := cams[0], cams[1]
	// Another agent made the same account on the second camera its own.
	admin, err := vapix.New(vapix.Config{BaseURL: takenOver.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.CloseIdleConnections()
	if err := admin.UpdateUser(t.Context(), "camcloud", "another-agents-password", vapix.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := m.Forget(context.Background(), []string{mine.Info().Serial, takenOver.Info().Serial, "ACCC8E0000EE"}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(accounts(t, mine), "camcloud") {
		t.Error("the agent's account is still on the camera it forgot")
	}
	if !slices.Contains(accounts(t, takenOver), "camcloud") {
		t.Error("the agent removed an account another agent had taken over")
	}
	if ds, err := st.Devices(); err != nil || len(ds) != 0 {
		t.Errorf("devices still stored: %+v %v", ds, err)
	}
	if inv, err := m.Inventory(t.Context()); err != nil || len(inv) != 0 {
		t.Errorf("inventory after forgetting: %+v %v", inv, err)
	}
	if _, ok := m.Target(mine.Info().Serial); ok {
		t.Error("EdgeLink still reaches the forgotten device")
	}
}
