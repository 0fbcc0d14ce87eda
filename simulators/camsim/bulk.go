package camsim

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// maxBulk bounds a bulk download.
const maxBulk = 8 << 30

// bulkBlock is what bulk downloads repeat: incompressible, made once.
var bulkBlock = func() []byte {
	b := make([]byte, 64<<10)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}()

// handleBulk is /local/camsim/bulk, a web endpoint of an application as ACAP
// applications have them under /local/<app>/ (behind the device's authentication): GET
// ?bytes=N answers N bytes, POST takes any body and answers how many bytes came. It is
// camsim's, not a VAPIX API: benchmarks measure transfers through EdgeLink with it.
func (c *Camera) handleBulk(q *request) {
	switch q.r.Method {
	case http.MethodGet:
		n, err := strconv.ParseInt(q.r.URL.Query().Get("bytes"), 10, 64)
		if err != nil || n < 0 || n > maxBulk {
			q.text(http.StatusBadRequest, fmt.Sprintf("bytes: 0 to %d\n", int64(maxBulk)))
			return
		}
		q.w.Header().Set("Content-Type", "application/octet-stream")
		q.w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		q.w.WriteHeader(http.StatusOK)
		for n > 0 {
			chunk := bulkBlock[:min(int64(len(bulkBlock)), n)]
			if _, err := q.w.Write(chunk); err != nil {
				return
			}
			n -= int64(len(chunk))
		}
	case http.MethodPost, http.MethodPut:
		n, err := io.CopyBuffer(io.Discard, q.r.Body, make([]byte, 64<<10))
		if err != nil {
			q.text(http.StatusBadRequest, "incomplete body\n")
			return
		}
		q.text(http.StatusOK, strconv.FormatInt(n, 10)+"\n")
	default:
		q.w.Header().Set("Allow", "GET, POST, PUT")
		q.text(http.StatusMethodNotAllowed, "Method Not Allowed\n")
	}
}
