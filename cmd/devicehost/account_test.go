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

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// TestAgentUsesItsOwnAccount: the agent on a camera makes its own admin account with the
// admin account it is given once, keeps no trace of the admin password, runs again
// without it, and reports a later login with the admin account as drift.
func TestAgentUsesItsOwnAccount(t *testing.T) {
	r := relaytest.Start(t, relaytest.RealClock)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	serial := cam.Info().Serial
	org := claim(t, r, serial, cam.Info().OAK)
	data := t.TempDir()
	if out, err := run(t, enrollArgs(r, cam, data)...); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within 30 s: %s", what)
			}
		}
	}
	managed := func() bool {
		d, err := r.Store.Device(context.Background(), org, serial)
		return err == nil && d.Connected && d.EffectiveMode() == "managed"
	}

	// A first run without an admin account cannot make the agent's.
	if out, err := run(t, "run", "--data", data, "--device", cam.Info().HTTP); err == nil || !strings.Contains(err.Error(), "--device-user") {
		t.Fatalf("first run without an admin account: %v\n%s", err, out)
	}

	cancel, done := runAgent(data, cam, "--device-user", camsimtest.User, "--device-password", camsimtest.Password, "--report-interval", "300ms")
	waitFor("the camera managed and connected", managed)
	if !slices.ContainsFunc(cam.State().Users, func(u camsim.User) bool { return u.Name == "camcloud" && slices.Contains(u.Groups, "admin") }) {
		t.Fatalf("no admin account camcloud on the camera: %+v", cam.State().Users)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
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

	// Again, with no admin account: the agent's own is enough.
	cancel, done = runAgent(data, cam, "--report-interval", "300ms")
	defer func() { cancel(); <-done }()
	before := time.Now()
	waitFor("the camera seen again after the restart", func() bool {
		d, err := r.Store.Device(context.Background(), org, serial)
		return err == nil && d.ReportedAt.After(before) && managed()
	})

	// Someone logs in with the camera's admin account: drift.
	root, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeviceInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	root.CloseIdleConnections()
	waitFor("the camera switched to connected for the admin login", func() bool {
		d, err := r.Store.Device(context.Background(), org, serial)
		if err != nil || d.EffectiveMode() != "connected" || len(d.ModeHistory) == 0 {
			return false
		}
		last := d.ModeHistory[len(d.ModeHistory)-1]
		return last.From == "managed" && strings.HasPrefix(last.Reason, "local-admin-login:") && strings.Contains(last.Reason, camsimtest.User)
	})
}
