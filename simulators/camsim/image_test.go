package camsim_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func snapshot(t *testing.T, hc *http.Client, cam *camsim.Camera, args string) image.Image {
	t.Helper()
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/jpg/image.cgi?" + args)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("image.cgi?%s: %s %s", args, resp.Status, b)
	}
	img, err := jpeg.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// lumaDiff is the mean luma difference of two images over r, 0..255.
func lumaDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ya := a.(*image.YCbCr).Y[a.(*image.YCbCr).YOffset(x, y)]
			yb := b.(*image.YCbCr).Y[b.(*image.YCbCr).YOffset(x, y)]
			d := float64(ya) - float64(yb)
			if d < 0 {
				d = -d
			}
			sum += d
			n++
		}
	}
	return sum / n
}

// TestSnapshotShowsOverlaysAndIdentity: a text overlay set through dynamicoverlay.cgi
// appears on the snapshot and goes with it; each camera labels its images with its own
// model and serial; every resolution RTSP offers is a snapshot size.
func TestSnapshotShowsOverlaysAndIdentity(t *testing.T) {
	fleet := camsimtest.Start(t, 2)
	cam, other := fleet.Cameras()[0], fleet.Cameras()[1]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	for _, res := range cam.Identity().Model.Resolutions {
		if got := snapshot(t, hc, cam, "resolution="+res).Bounds().Size(); fmt.Sprintf("%dx%d", got.X, got.Y) != res {
			t.Fatalf("resolution=%s gives %v", res, got)
		}
	}
	topLeft := image.Rect(0, 0, 200, 30)
	before := snapshot(t, hc, cam, "resolution=640x360")
	added := postJSON(t, hc, cam.Info().HTTP+"/axis-cgi/dynamicoverlay/dynamicoverlay.cgi",
		`{"apiVersion":"1.0","method":"addText","params":{"camera":1,"text":"Gate 3 %F","position":"topLeft","fontSize":32,"textColor":"white","textBGColor":"black"}}`)
	data, _ := added["data"].(map[string]any)
	id, ok := data["identity"].(float64)
	if !ok {
		t.Fatalf("addText: %v", added)
	}
	with := snapshot(t, hc, cam, "resolution=640x360")
	if d := lumaDiff(before, with, topLeft); d < 20 {
		t.Fatalf("the overlay changed the top left corner by %.1f, want a visible box of text", d)
	}
	postJSON(t, hc, cam.Info().HTTP+"/axis-cgi/dynamicoverlay/dynamicoverlay.cgi",
		fmt.Sprintf(`{"apiVersion":"1.0","method":"remove","params":{"identity":%d}}`, int(id)))
	if d := lumaDiff(before, snapshot(t, hc, cam, "resolution=640x360"), topLeft); d > 2 {
		t.Fatalf("the removed overlay still shows (difference %.1f)", d)
	}
	// The identity label, bottom left: two cameras' labels differ where their serials do.
	a, b := snapshot(t, hc, cam, "resolution=640x360"), snapshot(t, hc, other, "resolution=640x360")
	if d := lumaDiff(a, b, image.Rect(0, 320, 200, 340)); d < 5 {
		t.Fatalf("two cameras' labels look alike (difference %.1f)", d)
	}
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/jpg/image.cgi?resolution=1000x1000")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || body != "Error: unsupported resolution\n" {
		t.Fatalf("unsupported resolution: %s %q", resp.Status, body)
	}
}

// TestMJPEGStream reads a few frames of mjpg/video.cgi as a browser would.
func TestMJPEGStream(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/mjpg/video.cgi?resolution=320x180&fps=10&nbrofframes=3")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] != "myboundary" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if part.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("part type %q", part.Header.Get("Content-Type"))
		}
		img, err := jpeg.Decode(part)
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
			t.Fatalf("part %d is %v", n, img.Bounds())
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d frames, want 3 (nbrofframes=3)", n)
	}
}

// TestAudioTransmitIsCounted posts talk-down audio and sees it in the counters.
func TestAudioTransmitIsCounted(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	post := func(ctype string, body []byte) int {
		req, err := http.NewRequest(http.MethodPost, cam.Info().HTTP+"/axis-cgi/audio/transmit.cgi", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// One second of silence in mu-law, where 0x00 00 runs would trip a careless form parser.
	if code := post("audio/basic", bytes.Repeat([]byte{0xff, 0x00, 0x00, 0x7f}, 2000)); code != http.StatusNoContent {
		t.Fatalf("transmit: %d", code)
	}
	if got := cam.Counters().AudioBytes; got != 8000 {
		t.Fatalf("audio bytes counted: %d, want 8000", got)
	}
	if code := post("text/plain", []byte(strings.Repeat("x", 10))); code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d, want 415", code)
	}
	if got := cam.Counters().AudioBytes; got != 8000 {
		t.Fatalf("refused audio was counted: %d", got)
	}
}
