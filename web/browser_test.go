package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// One browser and one edgehost binary for the package's tests.
var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	stopBrowser = func() {}

	edgehostOnce sync.Once
	edgehostBin  string
	edgehostErr  error
	tmpDir       string
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// browser starts headless Chromium once. It trusts any certificate: the relay's CA is
// made per test, and Chromium reaches nothing but the test's loopback relay.
func browser(t testing.TB) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path, err := exec.LookPath("chromium")
		if err != nil {
			browserErr = fmt.Errorf("chromium not installed (apt-get install chromium): %w", err)
			return
		}
		if tmpDir, err = os.MkdirTemp("", "camcloud-web-test"); err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path), chromedp.UserDataDir(filepath.Join(tmpDir, "profile")),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.IgnoreCertErrors, chromedp.WindowSize(1200, 850),
			// WebRTC (the live page) on loopback, where the test's edge host is, with the
			// candidates' real addresses rather than mDNS names.
			chromedp.Flag("allow-loopback-in-peer-connection", true),
			chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		}
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelB := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			cancelB()
			cancelA()
			browserErr = fmt.Errorf("start chromium: %w", err)
			return
		}
		browserCtx, stopBrowser = bctx, func() { cancelB(); cancelA() }
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// tab opens a fresh tab (its own sessionStorage) that fails the test on any script
// error, console error, failed request or error answer the test did not expect.
func tab(t testing.TB, expect ...string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	var mu sync.Mutex
	var problems []string
	report := func(s string) {
		mu.Lock()
		problems = append(problems, s)
		mu.Unlock()
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			report("exception: " + msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				report("console error: " + strings.Join(args, " "))
			}
		case *network.EventLoadingFailed:
			if !e.Canceled {
				report("request failed: " + e.ErrorText)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				got := fmt.Sprintf("%d %s", e.Response.Status, strings.SplitN(e.Response.URL, "/", 4)[3])
				if !slices.ContainsFunc(expect, func(x string) bool { return strings.HasPrefix(got, x) }) {
					report("error answer: " + got)
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("in the page: %s", p)
		}
	})
	return ctx
}

// world is a relay, an enrolled edge host running as a child process, and cameras it
// manages by address.
type world struct {
	r       *relaytest.Relay
	admin   string // token
	org     string
	edge    string // edge host ID
	cameras []*camsim.Camera
}

func buildEdgehost(t testing.TB) string {
	t.Helper()
	browser(t) // makes tmpDir
	edgehostOnce.Do(func() {
		edgehostBin = filepath.Join(tmpDir, "edgehost")
		out, err := exec.Command("go", "build", "-o", edgehostBin, "github.com/opencamcloud/camcloud/cmd/edgehost").CombinedOutput()
		if err != nil {
			edgehostErr = fmt.Errorf("build edgehost: %v\n%s", err, out)
		}
	})
	if edgehostErr != nil {
		t.Fatal(edgehostErr)
	}
	return edgehostBin
}

func startWorld(t testing.TB, cameras int) *world {
	t.Helper()
	bin := buildEdgehost(t)
	// TURN on loopback, over every transport: the live page may be forced through it.
	// Loopback-only TURN relays to loopback peers (the edge host's WebRTC); TURN over
	// TLS has the relay's certificate, which the browser takes (IgnoreCertErrors).
	withTURN := func(cfg *server.Config) {
		cfg.TURN = server.TURNConfig{UDPListen: "127.0.0.1:0", TCPListen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}
	}
	w := &world{r: relaytest.Start(t, relaytest.RealClock, withTURN)}
	w.admin = w.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct{ Items []struct{ ID string } }
	w.r.Do(t, "GET", "/api/v1/orgs", w.admin, nil).JSON(t, &orgs)
	w.org = orgs.Items[0].ID
	res := w.r.Do(t, "POST", w.orgPath("/edgehosts"), w.admin, map[string]any{"name": "site-1"})
	var eh struct{ ID, EnrollmentToken string }
	res.JSON(t, &eh)
	w.edge = eh.ID
	data := t.TempDir()
	if out, err := exec.CommandContext(t.Context(), bin, "enroll", "--relay", w.r.URL, "--token", eh.EnrollmentToken,
		"--ca", w.r.CAFile, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	fleet := camsimtest.Start(t, cameras)
	w.cameras = fleet.Cameras()
	args := []string{"run", "--data", data, "--log-level", "warn", "--no-mdns", "--report-interval", "500ms", "--allow-device-net", "127.0.0.0/8"}
	for _, c := range w.cameras {
		args = append(args, "--add", strings.TrimPrefix(c.Info().HTTP, "http://"))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // ends when the process does; Cleanup stops it
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	testtool.WaitFor(t, 30*time.Second, "the edge host finds every camera", func() bool {
		var l struct{ Items []struct{ Serial string } }
		w.r.Do(t, "GET", w.orgPath("/edgehosts/"+w.edge+"/discovered"), w.admin, nil).JSON(t, &l)
		return len(l.Items) == cameras
	})
	return w
}

func (w *world) orgPath(p string) string { return "/api/v1/orgs/" + w.org + p }

// member adds a person with a role and returns their e-mail address and password.
func (w *world) member(t testing.TB, name string, rl role.Role) (string, string) {
	t.Helper()
	email, pw := name+"@example.com", name+"-password-1"
	u := w.r.CreateUser(t, email, pw)
	if _, err := w.r.Store.AddMember(t.Context(), w.org, u.ID, rl); err != nil {
		t.Fatal(err)
	}
	return email, pw
}

func signIn(w *world, email, pw string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(w.r.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
	)
}

// text selects the innermost elements whose text contains s (XPath, by search).
func text(s string) string {
	return fmt.Sprintf(`//*[contains(normalize-space(.), %q) and not(*[contains(normalize-space(.), %q)])]`, s, s)
}

func screenshot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if os.Getenv("CAMCLOUD_UPDATE_SCREENSHOTS") != "1" {
			return nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		if err := os.MkdirAll("../docs/screenshots", 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join("../docs/screenshots", name+".png"), png, 0o644)
	})
}

// TestConsole is the console's walk through, on one relay, edge host and three cameras:
// an admin signs in and onboards two discovered cameras, sees them in the device list
// and a snapshot of one; a person with two-step verification signs in with a code; a
// viewer sees no onboarding controls, and the API refuses them anyway.
func TestConsole(t *testing.T) {
	w := startWorld(t, 3)
	serials := []string{w.cameras[0].Info().Serial, w.cameras[1].Info().Serial}

	t.Run("admin onboards and sees a snapshot", func(t *testing.T) {
		ctx := tab(t)
		var src string
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Navigate(w.r.URL+"/ui/edgehosts"),
			chromedp.WaitVisible(text("online")),
			// Adding an edge host shows the command that enrolls it.
			chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "site-2"),
			chromedp.Click(chromedp.CSS(`form[aria-label="Add an edge host"] button`)),
			chromedp.WaitVisible(text("edgehost enroll --relay "+w.r.URL)),
			screenshot("edgehosts"),
			chromedp.Navigate(w.r.URL+"/ui/edgehosts"),
			chromedp.WaitVisible(text("not enrolled")),
			chromedp.Click(`//a[text()="Discovered devices"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[aria-label="Select `+serials[0]+`"]`)),
			chromedp.Click(chromedp.CSS(`input[aria-label="Select `+serials[0]+`"]`)),
			chromedp.Click(chromedp.CSS(`input[aria-label="Select `+serials[1]+`"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), camsimtest.Password),
			screenshot("discovered"),
			chromedp.Click(text("Onboard selected")+`[self::button]`),
			chromedp.WaitVisible(text("Onboarding 2 device(s)")),
		)
		if err != nil {
			t.Fatal(err)
		}
		testtool.WaitFor(t, 60*time.Second, "both cameras managed", func() bool {
			var l struct{ Items []struct{ Serial string } }
			w.r.Do(t, "GET", w.orgPath("/devices?status=onboarded&connected=true"), w.admin, nil).JSON(t, &l)
			return len(l.Items) == 2
		})
		err = chromedp.Do(ctx,
			chromedp.Navigate(w.r.URL+"/ui/devices?sort=serial"),
			chromedp.WaitVisible(text("2 of 2 devices")),
			chromedp.WaitVisible(`//a[text()="`+serials[1]+`"]`),
			screenshot("devices"),
			chromedp.EmulateViewport(390, 760, chromedp.EmulateMobile),
			screenshot("devices-phone"),
			chromedp.ResetViewport(),
			chromedp.Click(`//a[text()="`+serials[0]+`"]`),
			chromedp.WaitVisible(chromedp.CSS(`img.snapshot`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				if _, err := chromedp.Poll[bool](`document.querySelector("img.snapshot").naturalWidth > 0`)(ctx, tg); err != nil {
					return err
				}
				a, err := chromedp.AttributeValue(chromedp.CSS(`img.snapshot`), "src")(ctx, tg)
				src = a.Value
				return err
			}),
			screenshot("device"),
			// The back button returns to the list, with its sort.
			chromedp.NavigateBack(),
			chromedp.WaitVisible(text("2 of 2 devices")),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(src, "blob:") {
			t.Errorf("snapshot src %q, want a blob URL", src)
		}
	})

	t.Run("sign in with two-step verification", func(t *testing.T) {
		email, pw := w.member(t, "otp-user", role.Operator)
		tok := w.r.Login(t, email, pw)
		var en struct{ Secret string }
		w.r.Do(t, "POST", "/api/v1/auth/two-factor", tok, nil).JSON(t, &en)
		code := func(at time.Time) string {
			c, err := totp.GenerateCode(en.Secret, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if res := w.r.Do(t, "POST", "/api/v1/auth/two-factor/confirm", tok, map[string]string{"code": code(time.Now())}); res.Status != http.StatusOK {
			t.Fatalf("confirm: %d %s", res.Status, res.Body)
		}
		ctx := tab(t, "401 api/v1/auth/token")
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(chromedp.CSS(`input[name=otp]`)),
			screenshot("signin-otp"),
			// The confirming code is spent; the next step's is taken (clock skew allowance).
			chromedp.SendKeys(chromedp.CSS(`input[name=otp]`), code(time.Now().Add(30*time.Second))),
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
			chromedp.WaitVisible(text("of 2 devices")),
		)
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("viewer sees no onboarding", func(t *testing.T) {
		email, pw := w.member(t, "viewer", role.Viewer)
		ctx := tab(t)
		var navText, snapText string
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(text("2 of 2 devices")),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				navText, err = chromedp.TextContent(chromedp.CSS(`#nav`))(ctx, tg)
				return err
			}),
			chromedp.Click(`//a[text()="`+serials[0]+`"]`),
			chromedp.WaitVisible(text("Snapshots need the operator role")),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				snapText, err = chromedp.TextContent(chromedp.CSS(`main`))(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, admin := range []string{"Edge hosts", "Jobs", "Audit"} {
			if strings.Contains(navText, admin) {
				t.Errorf("a viewer's menu has %q: %q", admin, navText)
			}
		}
		if strings.Contains(snapText, "Onboard") || strings.Contains(snapText, "New job") {
			t.Errorf("a viewer's device page offers onboarding or a job: %q", snapText)
		}
		vtok := w.r.Login(t, email, pw)
		res := w.r.Do(t, "POST", w.orgPath("/edgehosts/"+w.edge+"/onboard"), vtok, map[string]any{"devices": []map[string]string{
			{"serial": w.cameras[2].Info().Serial, "username": camsimtest.User, "password": camsimtest.Password}}})
		if res.Status != http.StatusForbidden {
			t.Errorf("viewer onboarding through the API: %d %s", res.Status, res.Body)
		}
	})
}

// onboard onboards cams through the API and waits until the edge host manages them all
// and the relay lists them connected. It returns their serials.
func onboard(t testing.TB, w *world, cams ...*camsim.Camera) []string {
	t.Helper()
	var serials []string
	var devices []map[string]string
	for _, c := range cams {
		serials = append(serials, c.Info().Serial)
		devices = append(devices, map[string]string{"serial": c.Info().Serial, "username": camsimtest.User, "password": camsimtest.Password})
	}
	if res := w.r.Do(t, "POST", w.orgPath("/edgehosts/"+w.edge+"/onboard"), w.admin, map[string]any{"devices": devices}); res.Status != http.StatusAccepted {
		t.Fatalf("onboard: %d %s", res.Status, res.Body)
	}
	testtool.WaitFor(t, 60*time.Second, "the cameras managed and connected", func() bool {
		var l struct{ Items []struct{ Serial string } }
		w.r.Do(t, "GET", w.orgPath("/devices?status=onboarded&connected=true&limit=1000"), w.admin, nil).JSON(t, &l)
		managed := 0
		for _, d := range l.Items {
			if slices.Contains(serials, d.Serial) {
				managed++
			}
		}
		return managed == len(serials)
	})
	return serials
}
