package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// TestAgentUsesItsOwnAccount: enrollment makes the agent's own admin account on its
// camera with the admin account it is given, and nothing keeps the admin password; the
// agent then runs with nothing but its data directory, makes its account again (with an
// admin account) if the camera lost it, and reports a login with the admin account as
// drift.
func TestAgentUsesItsOwnAccount(t *testing.T) {
	r := relaytest.Start(t, relaytest.RealClock)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	serial := cam.Info().Serial
	org := claim(t, r, serial, cam.Info().OAK)
	data := t.TempDir()
	if out, err := run(t, enrollArgs(r, cam, data)...); err != nil || !strings.Contains(out, `own account "camcloud"`) {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	if !slices.ContainsFunc(cam.State().Users, func(u camsim.User) bool { return u.Name == "camcloud" && slices.Contains(u.Groups, "admin") }) {
		t.Fatalf("no admin account camcloud on the camera after enrollment: %+v", cam.State().Users)
	}
	_ = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(camsimtest.Password)) {
			t.Errorf("%s holds the camera's admin password", path)
		}
		return nil
	})
	seenManagedSince := func(at time.Time) func() bool {
		return func() bool {
			d, err := r.Store.Device(context.Background(), org, serial)
			return err == nil && d.Connected && d.EffectiveMode() == "managed" && d.ReportedAt.After(at)
		}
	}

	// Nothing but the data directory: the camera is where enrollment found it.
	start := time.Now()
	cancel, done := runAgent(data, "--report-interval", "300ms")
	testtool.WaitFor(t, 30*time.Second, "the camera managed and connected", seenManagedSince(start))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	root, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	// The agent stopped just after the camera took a new password for its account, and
	// before it recorded that: the pending password is the one that works.
	st, err := devstore.OpenDir(data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.Device(serial)
	if err != nil {
		t.Fatal(err)
	}
	old, err := st.Password(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(serial, "rotated-Pa55word", true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	own, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: "camcloud", Password: old})
	if err != nil {
		t.Fatal(err)
	}
	if err := own.UpdateUser(t.Context(), "camcloud", "rotated-Pa55word", vapix.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	own.CloseIdleConnections()
	start = time.Now()
	cancel, done = runAgent(data, "--report-interval", "300ms")
	testtool.WaitFor(t, 30*time.Second, "the camera managed with the password it took", seenManagedSince(start))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	// The camera loses the agent's account (a reset of its users).
	if err := root.RemoveUser(t.Context(), "camcloud"); err != nil {
		t.Fatal(err)
	}
	root.CloseIdleConnections()
	if out, err := run(t, "run", "--data", data, "--log-level", "error"); err == nil || !strings.Contains(err.Error(), "--device-user") {
		t.Fatalf("run without its account and without an admin account: %v\n%s", err, out)
	}
	start = time.Now()
	cancel, done = runAgent(data, "--device-user", camsimtest.User, "--device-password", camsimtest.Password, "--report-interval", "300ms")
	defer func() { cancel(); <-done }()
	testtool.WaitFor(t, 30*time.Second, "the camera managed again with a new account", seenManagedSince(start))

	// Someone logs in with the camera's admin account (a new session): drift.
	login, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := login.DeviceInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	login.CloseIdleConnections()
	testtool.WaitFor(t, 30*time.Second, "the camera switched to connected for the admin login", func() bool {
		d, err := r.Store.Device(context.Background(), org, serial)
		if err != nil || d.EffectiveMode() != "connected" || len(d.ModeHistory) == 0 {
			return false
		}
		last := d.ModeHistory[len(d.ModeHistory)-1]
		return last.From == "managed" && strings.HasPrefix(last.Reason, "local-admin-login:") && strings.Contains(last.Reason, camsimtest.User)
	})
}
