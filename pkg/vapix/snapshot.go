package vapix

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SnapshotOptions select the image (vapix.md section 12); zero values take the device's
// defaults.
type SnapshotOptions struct {
	Resolution  string // e.g. 1280x720
	Camera      int    // 1-based
	Compression int    // 0..100; 0 leaves the default
}

// maxSnapshot bounds a JPEG read into memory.
const maxSnapshot = 32 << 20

// Snapshot returns one JPEG image.
func (c *Client) Snapshot(ctx context.Context, o SnapshotOptions) ([]byte, error) {
	q := url.Values{}
	if o.Resolution != "" {
		q.Set("resolution", o.Resolution)
	}
	if o.Camera > 0 {
		q.Set("camera", strconv.Itoa(o.Camera))
	}
	if o.Compression > 0 {
		q.Set("compression", strconv.Itoa(o.Compression))
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/axis-cgi/jpg/image.cgi", q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vapix: snapshot: %w", transportError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshot+1))
	if err != nil {
		return nil, fmt.Errorf("vapix: snapshot: %w", transportError(err))
	}
	if err := statusError(resp.StatusCode, b); err != nil {
		if le := legacyError("image.cgi", string(b)); le != nil {
			return nil, fmt.Errorf("vapix: snapshot: %w", le)
		}
		return nil, fmt.Errorf("vapix: snapshot: %w", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/jpeg") || len(b) > maxSnapshot {
		return nil, fmt.Errorf("vapix: snapshot: %w: content type %q, %d bytes", ErrMalformed, ct, len(b))
	}
	return b, nil
}
