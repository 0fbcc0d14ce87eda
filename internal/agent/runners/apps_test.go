package runners

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// The catalog's name and version are what the uploader typed; the package says what it
// is. An app-install succeeds only when the device then lists the application at the
// version asked for: a package that turns out to hold another version or another
// application fails the task.
func TestAppInstallChecksWhatTheDeviceInstalled(t *testing.T) {
	for _, tc := range []struct {
		name, pkgName, pkgVersion string
		ok                        bool
	}{
		{"the version asked for", "myapp", "1.0.0", true},
		{"another version", "myapp", "2.0.0", false},
		{"another application", "otherapp", "1.0.0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := camsimtest.Start(t, 1).Cameras()[0]
			devs := &fakeDevices{cam: cam, current: camsimtest.Password}
			rl := newFakeRelay()
			arts, err := NewArtifacts(t.TempDir(), rl.client)
			if err != nil {
				t.Fatal(err)
			}
			var pkg bytes.Buffer
			if err := camsim.BuildEAP(&pkg, camsim.EAPManifest{AppName: tc.pkgName, Vendor: "Acme", Version: tc.pkgVersion, Architecture: "all", RunMode: "never"}, 100); err != nil {
				t.Fatal(err)
			}
			art := rl.add(pkg.Bytes()) // published as myapp 1.0.0
			params, _ := json.Marshal(taskkind.AppParams{Name: "myapp", Version: "1.0.0", Artifact: &art})
			r := &runners{cfg: Config{Devices: devs, Artifacts: arts, RebootWait: time.Second}}
			task := taskengine.Task{ID: "t", Attempt: 1, Kind: taskkind.AppInstall, Serial: cam.Info().Serial, Params: params}
			res, err := r.appInstall(context.Background(), task, func(string) {})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("app-install of myapp 1.0.0: %v (the device has %v)", err, cam.State().Apps)
			case !tc.ok && err == nil:
				t.Fatalf("app-install of myapp 1.0.0 succeeded (%s) but the device has %v", res, cam.State().Apps)
			}
		})
	}
}
