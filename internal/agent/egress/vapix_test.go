package egress

import (
	"bytes"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// These tests call simulated cameras (camsim) through the proxy with a VAPIX client that
// has no credentials: the proxy injects the agent's.

func TestDeviceInfoThroughProxy(t *testing.T) {
	fleet, inv := startCameras(t, 2)
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)
	for _, cam := range fleet.Cameras() {
		c := viaProxy(t, srv, cam.Info().Serial)
		info, err := c.DeviceInfo(ctx) // basicdeviceinfo.cgi getAllProperties: POST, restricted
		if err != nil {
			t.Fatal(err)
		}
		if info.SerialNumber != cam.Info().Serial || info.Architecture == "" {
			t.Fatalf("device info %+v is not camera %s's", info, cam.Info().Serial)
		}
		user, _, err := c.WhoAmI(ctx)
		if err != nil || user != agentUser {
			t.Fatalf("WhoAmI through the proxy = %q, %v; want the agent's account %q", user, err, agentUser)
		}
	}
}

func TestNonceReused(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv)
	c := viaProxy(t, srv, cam.Info().Serial)
	ctx := ctxT(t)
	before := cam.Counters().Unauthorized
	const calls = 20
	for range calls {
		if _, err := c.DeviceInfo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// One challenge for the first call; every later call is one round trip.
	if n := cam.Counters().Unauthorized - before; n != 1 {
		t.Fatalf("%d calls drew %d challenges; want 1 (nonce reused)", calls, n)
	}
	if n := cam.Counters().Requests["/axis-cgi/basicdeviceinfo.cgi"]; n != calls+1 {
		t.Fatalf("camera saw %d requests for %d calls; want %d", n, calls, calls+1)
	}
}

func TestParamUpdateThroughProxy(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)
	c := viaProxy(t, srv, cam.Info().Serial)
	if err := c.SetParams(ctx, map[string]string{"Image.I0.Text.String": "via egress", "Image.I0.Text.TextEnabled": "yes"}); err != nil {
		t.Fatal(err)
	}
	got, err := directClient(t, cam, agentUser, agentPassword).ParamMap(ctx, "Image.I0.Text")
	if err != nil {
		t.Fatal(err)
	}
	if got["Image.I0.Text.String"] != "via egress" || got["Image.I0.Text.TextEnabled"] != "yes" {
		t.Fatalf("params after update: %v", got)
	}
	// A refused value is the device's own error, passed through.
	err = c.SetParams(ctx, map[string]string{"Image.I0.Text.TextEnabled": "maybe"})
	var ve *vapix.Error
	if !asError(err, &ve) {
		t.Fatalf("bad value: %v; want the device's *vapix.Error", err)
	}
	// The same call as a plain GET with the arguments in the query.
	res, err := http.Get(srv.URL + PathPrefix + cam.Info().Serial + "/vapix/axis-cgi/param.cgi?action=update&root.Image.I0.Text.String=by+query")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.TrimSpace(string(b)) != "OK" {
		t.Fatalf("GET update: %d %q", res.StatusCode, b)
	}
	got, _ = directClient(t, cam, agentUser, agentPassword).ParamMap(ctx, "Image.I0.Text")
	if got["Image.I0.Text.String"] != "by query" {
		t.Fatalf("after GET update: %v", got)
	}
}

func TestSnapshotThroughProxy(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv)
	res, err := http.Get(srv.URL + PathPrefix + cam.Info().Serial + "/vapix/axis-cgi/jpg/image.cgi?resolution=640x360")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 640 {
		t.Fatalf("snapshot %d wide; want 640", w)
	}
	// And with the typed client.
	jpg, err := viaProxy(t, srv, cam.Info().Serial).Snapshot(ctxT(t), vapix.SnapshotOptions{})
	if err != nil || len(jpg) < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		t.Fatalf("Snapshot: %d bytes, %v", len(jpg), err)
	}
}
