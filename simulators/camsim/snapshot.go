package camsim

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// jpg/image.cgi (vapix.md section 12): a real JPEG at one of the model's resolutions (the
// ones RTSP serves), with the camera's text overlays, its model, serial and the time drawn
// on it. The background is made once per size and shared by every camera; each camera
// keeps its last encoded image, which serves again until the second or the overlays change
// (MJPEG viewers at 25 fps cost one encoding a second).

var backgrounds sync.Map // image.Point -> *image.YCbCr

func background(w, h int) *image.YCbCr {
	key := image.Pt(w, h)
	if v, ok := backgrounds.Load(key); ok {
		return v.(*image.YCbCr)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	// Colour bars over a luma gradient: something a person recognises, and that decodes
	// back to the asked size.
	var bars []color.YCbCr
	for _, rgb := range [][3]uint8{{235, 235, 235}, {235, 235, 16}, {16, 235, 235}, {16, 235, 16}, {235, 16, 235}, {235, 16, 16}, {16, 16, 235}} {
		y, cb, cr := color.RGBToYCbCr(rgb[0], rgb[1], rgb[2])
		bars = append(bars, color.YCbCr{Y: y, Cb: cb, Cr: cr})
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			bar := bars[x*len(bars)/w]
			shade := uint8(int(bar.Y) * (h - y/2) / h)
			img.Y[img.YOffset(x, y)] = shade
			ci := img.COffset(x, y)
			img.Cb[ci], img.Cr[ci] = bar.Cb, bar.Cr
		}
	}
	v, _ := backgrounds.LoadOrStore(key, img)
	return v.(*image.YCbCr)
}

// imageCache is a camera's last encoded image.
type imageCache struct {
	mu   sync.Mutex
	key  string
	body []byte
}

// image returns the camera's picture at w x h and JPEG quality, as of now.
func (c *Camera) image(w, h, quality int) []byte {
	now := c.now()
	var overlays []Overlay
	c.view(func(st *State) { overlays = slices.Clone(st.Overlays) })
	key := fmt.Sprintf("%dx%d q%d %d %v", w, h, quality, now.Unix(), overlays)
	ic := &c.img
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.key == key {
		return ic.body
	}
	bg := background(w, h)
	img := &image.YCbCr{
		Y: slices.Clone(bg.Y), Cb: slices.Clone(bg.Cb), Cr: slices.Clone(bg.Cr),
		YStride: bg.YStride, CStride: bg.CStride, SubsampleRatio: bg.SubsampleRatio, Rect: bg.Rect,
	}
	c.drawOverlays(img, overlays, now.Truncate(time.Second))
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	ic.key, ic.body = key, buf.Bytes()
	return ic.body
}

// imageArgs reads the arguments image.cgi and video.cgi share: resolution (default the
// model's largest), camera and compression, after a stream profile if one is named.
func (c *Camera) imageArgs(q *request) (w, h, quality int, ok bool) {
	args := q.args()
	if res := args.Get("resolution"); res != "" && !slices.Contains(c.id.Model.Resolutions, res) {
		q.text(http.StatusBadRequest, "Error: unsupported resolution\n")
		return 0, 0, 0, false
	}
	if cam := args.Get("camera"); cam != "" && cam != "1" {
		q.text(http.StatusBadRequest, "Error: unsupported camera\n")
		return 0, 0, 0, false
	}
	if v := args.Get("compression"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 100 {
			q.text(http.StatusBadRequest, "Error: invalid compression\n")
			return 0, 0, 0, false
		}
	}
	a, err := c.readVideoArgs(args)
	if err != nil {
		q.text(http.StatusBadRequest, "Error: "+err.Error()+"\n")
		return 0, 0, 0, false
	}
	return a.width, a.height, max(1, 100-a.compression), true
}

func (c *Camera) handleSnapshot(q *request) {
	w, h, quality, ok := c.imageArgs(q)
	if !ok {
		return
	}
	body := c.image(w, h, quality)
	q.w.Header().Set("Content-Type", "image/jpeg")
	q.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(body)
}
