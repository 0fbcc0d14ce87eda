package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// TestLivePagePTZ: an operator steers a PTZ camera from its live page with the keyboard
// (holding an arrow key moves it, releasing stops it); a viewer's live page has no PTZ
// controls.
func TestLivePagePTZ(t *testing.T) {
	t.Setenv("EDGEHOST_WEBRTC_LOOPBACK_ONLY", "true") // read by the edge host child process
	w := startWorld(t, 2)
	cam := w.cameras[1]
	if !cam.Identity().Model.PTZ {
		t.Fatalf("camera 1 is a %s, want a PTZ model", cam.Identity().Model.ProdNbr)
	}
	serial := cam.Info().Serial
	onboard(t, w, cam)
	position := func() vapix.PTZPosition {
		res := w.r.Do(t, "GET", w.orgPath("/devices/"+serial+"/vapix/axis-cgi/com/ptz.cgi?query=position"), w.admin, nil)
		p, err := vapix.ParsePTZPosition(string(res.Body))
		if res.Status != http.StatusOK || err != nil {
			t.Fatalf("position: %d %v %s", res.Status, err, res.Body)
		}
		return p
	}
	stopped := func() bool { a, b := position(), position(); return a == b }
	// A slow speed (the page asks for half of it, 3°/s): the camera stops on release, not
	// at its pan limit.
	if res := w.r.Do(t, "GET", w.orgPath("/devices/"+serial+"/vapix/axis-cgi/com/ptz.cgi?speed=10"), w.admin, nil); res.Status != http.StatusNoContent {
		t.Fatalf("speed: %d %s", res.Status, res.Body)
	}

	email, pw := w.member(t, "operator", role.Operator)
	ctx := tab(t)
	if err := chromedp.Do(ctx, signIn(w, email, pw),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
		chromedp.Navigate(w.r.URL+"/ui/devices/"+serial+"/live"),
		chromedp.WaitVisible(text("PTZ: ready.")),
	); err != nil {
		t.Fatal(err)
	}
	before := position()
	key := func(typ, k string) chromedp.Action[chromedp.Void] {
		return runScript(`document.querySelector('[aria-label="Pan right"]').dispatchEvent(new KeyboardEvent("` + typ + `", { key: "` + k + `", bubbles: true }))`)
	}
	if err := chromedp.Do(ctx, key("keydown", "ArrowRight"), chromedp.WaitVisible(text("PTZ: ok."))); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera panning right", func() bool { return position().Pan > before.Pan+0.5 })
	if err := chromedp.Do(ctx, key("keyup", "ArrowRight")); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera stopped on release", stopped)
	if p := position(); p.Pan >= 170 {
		t.Errorf("the camera reached its pan limit (%v): the release did not stop it", p.Pan)
	}

	// A viewer watches without PTZ controls.
	email, pw = w.member(t, "viewer", role.Viewer)
	vctx := tab(t)
	if err := chromedp.Do(vctx, signIn(w, email, pw),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
		chromedp.Navigate(w.r.URL+"/ui/devices/"+serial+"/live"),
		chromedp.WaitVisible(text("Playing.")),
	); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(vctx, chromedp.Evaluate[int](`document.querySelectorAll('[aria-label="Pan right"], [aria-label="Preset name"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a viewer's live page shows %d PTZ controls, want none", n)
	}
}
