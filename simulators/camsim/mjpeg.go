package camsim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// mjpg/video.cgi (vapix.md section 12): Motion JPEG as multipart/x-mixed-replace, one
// image/jpeg part per frame, with the arguments of image.cgi plus fps, and duration (s) and
// nbrofframes to end the stream [U: Axis names; camsim's boundary "myboundary" follows what
// Axis devices send, unverified here].

const mjpegBoundary = "myboundary"

func (c *Camera) handleMJPEG(q *request) {
	w, h, quality, ok := c.imageArgs(q)
	if !ok {
		return
	}
	args := q.args()
	fps := defaultFPS
	var frames int
	var duration time.Duration
	for _, a := range []struct {
		name   string
		lo, hi int
		set    func(int)
	}{
		{"fps", 0, maxFPS, func(n int) {
			if n > 0 {
				fps = n
			} else {
				fps = maxFPS
			}
		}},
		{"nbrofframes", 0, 1 << 30, func(n int) { frames = n }},
		{"duration", 0, 1 << 30, func(n int) { duration = time.Duration(n) * time.Second }},
	} {
		v := args.Get(a.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < a.lo || n > a.hi {
			q.text(http.StatusBadRequest, "Error: invalid "+a.name+"\n")
			return
		}
		a.set(n)
	}
	q.w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	q.w.Header().Set("Cache-Control", "no-cache")
	q.w.WriteHeader(http.StatusOK)
	flusher, _ := q.w.(http.Flusher)
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for n := 0; ; n++ {
		body := c.image(w, h, quality)
		if _, err := fmt.Fprintf(q.w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", mjpegBoundary, len(body)); err != nil {
			return
		}
		if _, err := q.w.Write(append(body[:len(body):len(body)], '\r', '\n')); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if (frames > 0 && n+1 >= frames) || (duration > 0 && time.Since(start) >= duration) {
			// A stream that ends by itself closes the multipart body properly.
			_, _ = fmt.Fprintf(q.w, "--%s--\r\n", mjpegBoundary)
			return
		}
		select {
		case <-tick.C:
		case <-q.r.Context().Done():
			return
		case <-c.quit:
			return
		}
	}
}
