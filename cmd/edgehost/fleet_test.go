package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// cameraAdminPassword is the cameras' admin password: distinctive, so that the test can
// search the relay's files and logs for it.
const cameraAdminPassword = "Adm1n-Pw-quokka-4471"

// loopbackNets is --allow-device-net for tests: their cameras (camsim) and VMS servers
// listen on loopback, which an edge host does not reach by default.
const loopbackNets = "127.0.0.0/8"

// edgeHostEnv is a relay, an enrolled edge host and its organization, for fleet tests.
type edgeHostEnv struct {
	r        *relaytest.Relay
	relayLog *testtool.Buffer
	data     string
	id       *identity.Identity
	token    string
	stop     func()
}

// startEdgeHostEnv starts the relay (with opts after the environment's own) and enrolls
// the edge host.
func startEdgeHostEnv(t testing.TB, opts ...relaytest.Option) *edgeHostEnv {
	t.Helper()
	e := &edgeHostEnv{relayLog: &testtool.Buffer{}}
	e.r = relaytest.Start(t, append([]relaytest.Option{relaytest.RealClock, relaytest.LogTo(e.relayLog)}, opts...)...)
	e.data = t.TempDir()
	if out, err := run(t, "enroll", "--relay", e.r.URL, "--token", newEdgeHost(t, e.r), "--ca", e.r.CAFile, "--data", e.data); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	id, err := identity.Load(e.data)
	if err != nil {
		t.Fatal(err)
	}
	e.id = id
	e.token = e.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	return e
}

// runEdgeHost starts `edgehost run` browsing mDNS on lo (inside the test's namespace).
func (e *edgeHostEnv) runEdgeHost(t testing.TB, extra ...string) {
	t.Helper()
	e.runEdgeHostFlags(t, append([]string{"run", "--data", e.data, "--log-level", "warn", "--mdns-interface", "lo",
		"--mdns-interval", "500ms", "--report-interval", "500ms", "--allow-device-net", loopbackNets}, extra...))
}

// runEdgeHostFlags runs the edgehost command in this process with these arguments until
// stop or the end of the test.
func (e *edgeHostEnv) runEdgeHostFlags(t testing.TB, args []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(t.Output())
		done <- root.ExecuteContext(ctx)
	}()
	e.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("edgehost run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("edgehost run did not stop")
		}
		e.stop = nil
	}
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
}

func (e *edgeHostEnv) orgPath(p string) string { return "/api/v1/orgs/" + e.id.Org + p }

type listOf[T any] struct {
	Items []T `json:"items"`
}

type deviceJSON struct {
	Serial      string `json:"serial"`
	Mode        string `json:"mode"`
	Status      string `json:"status"`
	Connected   bool   `json:"connected"`
	Firmware    string `json:"firmwareVersion"`
	Profile     string `json:"profile"`
	ModeHistory []struct {
		From, To, Reason, By string
	} `json:"modeHistory"`
	ProductFamily string `json:"productFamily"`
	EndOfSupport  string `json:"endOfSupport"`
}

func (e *edgeHostEnv) devices(t testing.TB, query string) []deviceJSON {
	t.Helper()
	res := e.r.Do(t, http.MethodGet, e.orgPath("/devices?limit=1000&"+query), e.token, nil)
	var l listOf[deviceJSON]
	res.JSON(t, &l)
	return l.Items
}

// TestOnboardDiscoveredCameras is the onboarding acceptance: an edge host lists the
// cameras it found over mDNS; one call onboards 20; each gets its own agent account
// whose password is sealed at the agent and appears nowhere at the relay (store, files,
// logs), nor does the admin password; then each drift cause flips one managed camera to
// connected with the right reason, and the others stay managed.
func TestOnboardDiscoveredCameras(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	const n = 20
	fleet := camsimtest.Start(t, n, func(c *camsim.Config) {
		c.MDNS, c.MDNSInterface, c.Password = true, "lo", cameraAdminPassword
	})
	e := startEdgeHostEnv(t)
	e.runEdgeHost(t)

	discoveredPath := e.orgPath("/edgehosts/" + e.id.AgentID + "/discovered")
	var found listOf[struct {
		Serial, Address, Model string
	}]
	testtool.WaitFor(t, 20*time.Second, fmt.Sprintf("the relay lists %d discovered cameras", n), func() bool {
		e.r.Do(t, http.MethodGet, discoveredPath, e.token, nil).JSON(t, &found)
		return len(found.Items) == n
	})
	var devices []map[string]string
	for _, d := range found.Items {
		if d.Model == "" || d.Address == "" {
			t.Fatalf("discovered camera without facts: %+v", d)
		}
		devices = append(devices, map[string]string{"serial": d.Serial, "username": "root", "password": cameraAdminPassword})
	}
	res := e.r.Do(t, http.MethodPost, e.orgPath("/edgehosts/"+e.id.AgentID+"/onboard"), e.token, map[string]any{"devices": devices})
	if res.Status != http.StatusAccepted {
		t.Fatalf("onboard: %d %s", res.Status, res.Body)
	}
	testtool.WaitFor(t, 30*time.Second, "every onboarding task succeeds", func() bool {
		var tasks listOf[struct{ State, Detail string }]
		e.r.Do(t, http.MethodGet, e.orgPath("/tasks?kind=onboard&state=succeeded"), e.token, nil).JSON(t, &tasks)
		return len(tasks.Items) == n
	})
	testtool.WaitFor(t, 20*time.Second, "every camera is managed and connected in the inventory", func() bool {
		ds := e.devices(t, "mode=managed&connected=true")
		return len(ds) == n
	})
	if ds := e.devices(t, "mode=managed"); ds[0].Profile != "default" || ds[0].ProductFamily == "" || ds[0].EndOfSupport == "" {
		t.Fatalf("inventory entry lacks profile or catalog facts: %+v", ds[0])
	}
	if res := e.r.Do(t, http.MethodGet, discoveredPath, e.token, nil); bytes.Contains(res.Body, []byte(found.Items[0].Serial)) {
		t.Fatal("onboarded cameras are still listed as discovered")
	}

	// The agent's store, read while the agent is stopped (bbolt locks it).
	e.stop()
	agentPasswords := agentCredentials(t, e.data, fleet)

	// Nothing of the relay's holds a device password: not the database, not any file of
	// its data directory, not its log.
	secretsToFind := append([]string{cameraAdminPassword}, agentPasswords...)
	_ = filepath.WalkDir(e.r.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secretsToFind {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("relay file %s contains a device password", path)
			}
		}
		return nil
	})
	for _, s := range secretsToFind {
		if strings.Contains(e.relayLog.String(), s) {
			t.Errorf("the relay's log contains a device password")
		}
	}
	if !strings.Contains(e.relayLog.String(), "onboarding started") {
		t.Fatal("the relay's log was not captured") // else the search above proves nothing
	}

	// Drift: each cause on its own camera, made the way it happens in the field.
	cams := fleet.Cameras()
	pass := map[string]string{}
	for i, c := range cams {
		pass[c.Info().Serial] = agentPasswords[i]
	}
	ctx := t.Context()
	agentClient := func(c *camsim.Camera) *vapix.Client {
		cl, err := vapix.New(vapix.Config{BaseURL: c.Info().HTTP, User: "camcloud", Password: pass[c.Info().Serial], Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.CloseIdleConnections)
		return cl
	}
	// 1. An application outside the profile, installed with the agent's own account
	// (as through EdgeLink): no admin login of anyone else.
	appCam := cams[0]
	var eap bytes.Buffer
	if err := camsim.BuildEAP(&eap, camsim.EAPManifest{AppName: "RogueApp", Vendor: "Someone", Version: "1.0.0", Architecture: "all"}, 256); err != nil {
		t.Fatal(err)
	}
	if err := agentClient(appCam).InstallApp(ctx, "rogue.eap", &eap); err != nil {
		t.Fatal(err)
	}
	// 2. AXIS OS off every supported track: 11.12 is neither LTS nor active.
	var osCam *camsim.Camera
	for _, c := range cams[1:] {
		if strings.HasPrefix(c.FirmwareVersion(), "11.11.") {
			osCam = c
			break
		}
	}
	if osCam == nil {
		t.Fatal("no camera runs 11.11")
	}
	oc := agentClient(osCam)
	sr, err := oc.SystemReady(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := camsim.FirmwareImage(camsim.FirmwareHeader{Version: "11.12.5"})
	if _, err := oc.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{AutoCommit: "boot"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.WaitReady(ctx, sr.BootID); err != nil {
		t.Fatal(err)
	}
	// 3. Someone logs in with the camera's local admin account.
	var loginCam *camsim.Camera
	for _, c := range cams[1:] {
		if c != osCam {
			loginCam = c
			break
		}
	}
	root, err := vapix.New(vapix.Config{BaseURL: loginCam.Info().HTTP, User: "root", Password: cameraAdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeviceInfo(ctx); err != nil {
		t.Fatal(err)
	}
	root.CloseIdleConnections()

	e.runEdgeHost(t)
	want := map[string]string{
		appCam.Info().Serial:   "unexpected-app",
		osCam.Info().Serial:    "os-off-track",
		loginCam.Info().Serial: "local-admin-login",
	}
	testtool.WaitFor(t, 20*time.Second, "the three drifted cameras switch to connected", func() bool {
		return len(e.devices(t, "mode=connected")) == len(want)
	})
	for _, d := range e.devices(t, "mode=connected") {
		cause, ok := want[d.Serial]
		if !ok {
			t.Errorf("camera %s switched without drift: %+v", d.Serial, d.ModeHistory)
			continue
		}
		last := d.ModeHistory[len(d.ModeHistory)-1]
		if last.From != "managed" || last.To != "connected" || last.By != "system" || !strings.HasPrefix(last.Reason, cause+":") {
			t.Errorf("camera %s: last mode change %+v, want managed -> connected for %s", d.Serial, last, cause)
		}
		if strings.Count(last.Reason, ":") != 1 {
			t.Errorf("camera %s switched for more than its one cause: %s", d.Serial, last.Reason)
		}
	}
	if got := len(e.devices(t, "mode=managed")); got != n-len(want) {
		t.Errorf("%d cameras still managed, want %d", got, n-len(want))
	}
}

// agentCredentials checks the agent's store: one sealed credential per camera, all
// different, none in clear text in the file, each working on its camera (and being its
// own account there). It returns the passwords in camera order.
func agentCredentials(t *testing.T, data string, fleet *camsim.Fleet) []string {
	t.Helper()
	st, err := devstore.OpenDir(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := os.ReadFile(filepath.Join(data, devstore.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range fleet.Cameras() {
		d, err := st.Device(c.Info().Serial)
		if err != nil {
			t.Fatalf("camera %s not in the agent's store: %v", c.Info().Serial, err)
		}
		p, err := st.Password(d)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(p)) || bytes.Contains(raw, []byte(cameraAdminPassword)) {
			t.Fatalf("the agent's store holds a password in clear text")
		}
		if slices.Contains(out, p) {
			t.Fatal("two cameras share an agent password")
		}
		out = append(out, p)
		if u := c.State().Users; !slices.ContainsFunc(u, func(x camsim.User) bool { return x.Name == d.User && x.Password == p }) {
			t.Fatalf("camera %s has no account %s with the stored password", c.Info().Serial, d.User)
		}
	}
	return out
}

type discoveredJSON struct {
	Serial, Address string
}

// TestDiscoveryFollowsCameras is the discovery acceptance at the relay: with 50 cameras
// announced over mDNS the edge host's report lists all 50 within 10 s; 10 that stop are
// reported gone; the other 40 restarted on new ports are followed to their new addresses
// (same serials, no duplicates).
func TestDiscoveryFollowsCameras(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	mdnsOn := func(c *camsim.Config) { c.MDNS, c.MDNSInterface = true, "lo" }
	state := t.TempDir()
	forty := camsimtest.Start(t, 40, mdnsOn, camsimtest.WithState(state))
	ten := camsimtest.Start(t, 10, mdnsOn, func(c *camsim.Config) { c.SerialOffset = 40 })
	e := startEdgeHostEnv(t)
	start := time.Now()
	e.runEdgeHost(t)
	path := e.orgPath("/edgehosts/" + e.id.AgentID + "/discovered")
	list := func() map[string]string {
		var l listOf[discoveredJSON]
		e.r.Do(t, http.MethodGet, path, e.token, nil).JSON(t, &l)
		m := map[string]string{}
		for _, d := range l.Items {
			if _, dup := m[d.Serial]; dup {
				t.Fatalf("camera %s listed twice", d.Serial)
			}
			m[d.Serial] = d.Address
		}
		return m
	}
	testtool.WaitFor(t, 10*time.Second, "all 50 cameras listed within 10 s", func() bool { return len(list()) == 50 })
	t.Logf("50 cameras listed at the relay %s after the edge host started", time.Since(start).Round(time.Millisecond))

	gone := map[string]bool{}
	for _, c := range ten.Cameras() {
		gone[c.Info().Serial] = true
	}
	if err := ten.Close(); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 15*time.Second, "the 10 stopped cameras reported gone", func() bool {
		m := list()
		for s := range gone {
			if _, ok := m[s]; ok {
				return false
			}
		}
		return len(m) == 40
	})

	before := list()
	if err := forty.Close(); err != nil {
		t.Fatal(err)
	}
	again := camsimtest.Start(t, 40, mdnsOn, camsimtest.WithState(state))
	want := map[string]string{}
	for _, c := range again.Cameras() {
		want[c.Info().Serial] = strings.TrimPrefix(c.Info().HTTP, "http://")
		if before[c.Info().Serial] == "" {
			t.Fatalf("restarted camera %s has another serial", c.Info().Serial)
		}
	}
	testtool.WaitFor(t, 20*time.Second, "the 40 restarted cameras followed to their new addresses", func() bool {
		m := list()
		if len(m) != 40 {
			return false
		}
		for s, addr := range want {
			if m[s] != addr {
				return false
			}
		}
		return true
	})
}
