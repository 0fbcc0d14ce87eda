package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/discovery"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// defaultProfile is the profile devices are onboarded with in these tests.
var defaultProfile = profile.Profile{Name: "default"}

// fakeFinder is discovery with fixed answers.
type fakeFinder map[string]discovery.Device

func (f fakeFinder) Devices() []discovery.Device {
	var out []discovery.Device
	for _, d := range f {
		out = append(out, d)
	}
	return out
}

func (f fakeFinder) Device(s string) (discovery.Device, bool) { d, ok := f[s]; return d, ok }

func (f fakeFinder) Add(context.Context, string) (discovery.Device, error) {
	return discovery.Device{}, nil
}

// finderFor lists camsim cameras at their addresses.
func finderFor(cams ...*camsim.Camera) fakeFinder {
	f := fakeFinder{}
	for _, c := range cams {
		s := c.Info().Serial
		f[s] = discovery.Device{Serial: s, Addr: strings.TrimPrefix(c.Info().HTTP, "http://")}
	}
	return f
}

// startManager runs a Manager with cfg on a fresh store until the test ends.
func startManager(t *testing.T, cfg Config) (*Manager, *devstore.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := devstore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	if cfg.TasksJournal == "" {
		cfg.InDataDir(dir)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	testtool.WaitFor(t, 10*time.Second, "the manager to run", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.running
	})
	return m, st
}

// onboardAndWait onboards one device with defaultProfile and returns its task as it ended.
func onboardAndWait(t *testing.T, m *Manager, st *devstore.Store, serial, user, pass string) linkapi.TaskReport {
	t.Helper()
	resp, err := m.Onboard(context.Background(), linkapi.OnboardRequest{Devices: []linkapi.OnboardDevice{{Serial: serial, Username: user, Password: pass}},
		Profile: defaultProfile})
	if err != nil {
		t.Fatal(err)
	}
	var rep linkapi.TaskReport
	testtool.WaitFor(t, 10*time.Second, "the onboarding to end", func() bool {
		r, err := m.engine.Get(resp.Tasks[0].ID)
		if err != nil || !r.State.Final() {
			return false
		}
		rep = report(r)
		return true
	})
	return rep
}
