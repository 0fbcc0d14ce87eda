package camsim

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// jpg/image.cgi (vapix.md section 12): a real JPEG at one of the model's resolutions.
// Images are encoded once per (resolution, quality) and shared by every camera.

type snapshotKey struct {
	w, h, quality int
}

var snapshots sync.Map // snapshotKey -> []byte

func snapshotJPEG(w, h, quality int) []byte {
	key := snapshotKey{w, h, quality}
	if b, ok := snapshots.Load(key); ok {
		return b.([]byte)
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
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	b, _ := snapshots.LoadOrStore(key, buf.Bytes())
	return b.([]byte)
}

func (c *Camera) handleSnapshot(q *request) {
	args := q.args()
	res := args.Get("resolution")
	if res == "" {
		res = c.id.Model.Resolutions[0]
	}
	if !slices.Contains(c.id.Model.Resolutions, res) {
		q.text(http.StatusBadRequest, "Error: unsupported resolution\n")
		return
	}
	if cam := args.Get("camera"); cam != "" && cam != "1" {
		q.text(http.StatusBadRequest, "Error: unsupported camera\n")
		return
	}
	compression := 30
	if v := args.Get("compression"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			q.text(http.StatusBadRequest, "Error: invalid compression\n")
			return
		}
		compression = n
	}
	ws, hs, _ := strings.Cut(res, "x")
	w, _ := strconv.Atoi(ws)
	h, _ := strconv.Atoi(hs)
	body := snapshotJPEG(w, h, max(1, 100-compression))
	q.w.Header().Set("Content-Type", "image/jpeg")
	q.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(body)
}
