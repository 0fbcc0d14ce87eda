package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// edgeLinkTarget is one way to reach cameras: straight to the camera with Digest
// ("direct"), or through the relay's EdgeLink with a bearer token ("edgelink": TLS to
// the relay, the agent link, the agent's egress proxy, Digest to the camera).
type edgeLinkTarget struct {
	client *http.Client
	url    func(serial, path string) string
	token  string
}

func (tg edgeLinkTarget) do(ctx context.Context, method, serial, path string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, tg.url(serial, path), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		// A body that can be made again, so that neither side holds it for a resend.
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(bulkReader{}, size)), nil }
	}
	if tg.token != "" {
		req.Header.Set("Authorization", "Bearer "+tg.token)
	}
	return tg.client.Do(req)
}

type bulkReader struct{}

var bulkBlock = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

func (bulkReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], bulkBlock)
	}
	return n, nil
}

// edgeLinkTargets starts n cameras managed by an edge host and returns both ways to them.
func edgeLinkTargets(b *testing.B, n int) (*rollout, map[string]edgeLinkTarget) {
	ro := startRollout(b, n)
	ro.runEdgeHostFlags(b, append(ro.runFlags(), "--report-interval", "1m"))
	ro.onboardAll(b)
	addr := map[string]string{}
	for _, c := range ro.fleet.Cameras() {
		addr[c.Info().Serial] = c.Info().HTTP
	}
	direct := &http.Client{Transport: &digest.Transport{Username: camsimtest.User, Password: camsimtest.Password,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}}
	relay := ro.r.Client
	if tr, ok := relay.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = 1024
	}
	return ro, map[string]edgeLinkTarget{
		"direct":   {client: direct, url: func(s, p string) string { return addr[s] + "/" + p }},
		"edgelink": {client: relay, url: ro.vapixURL, token: ro.token},
	}
}

// BenchmarkEdgeLinkLatency: a small VAPIX GET, one caller, connections reused, through
// EdgeLink and directly. Reports p50 and p99.
func BenchmarkEdgeLinkLatency(b *testing.B) {
	ro, targets := edgeLinkTargets(b, 1)
	serial := ro.fleet.Cameras()[0].Info().Serial
	const path = "axis-cgi/param.cgi?action=list&group=Brand.ProdNbr"
	for _, name := range []string{"direct", "edgelink"} {
		tg := targets[name]
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for range 50 { // warm up: connections, Digest nonce
				resp, err := tg.do(context.Background(), "GET", serial, path, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			for b.Loop() {
				start := time.Now()
				resp, err := tg.do(context.Background(), "GET", serial, path, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkEdgeLinkThroughput: 256 MiB up, then 256 MiB down, to an application endpoint
// of a camera (TLS on the EdgeLink path), through EdgeLink and directly.
func BenchmarkEdgeLinkThroughput(b *testing.B) {
	const size = 256 << 20
	ro, targets := edgeLinkTargets(b, 1)
	serial := ro.fleet.Cameras()[0].Info().Serial
	for _, name := range []string{"direct", "edgelink"} {
		tg := targets[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(2 * size)
			var up, down time.Duration
			for b.Loop() {
				start := time.Now()
				resp, err := tg.do(context.Background(), "POST", serial, "local/camsim/bulk", io.LimitReader(bulkReader{}, size), size)
				if err != nil {
					b.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.TrimSpace(string(got)) != strconv.Itoa(size) {
					b.Fatalf("upload: %d %q", resp.StatusCode, got)
				}
				mid := time.Now()
				resp, err = tg.do(context.Background(), "GET", serial, "local/camsim/bulk?bytes="+strconv.Itoa(size), nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 256<<10))
				resp.Body.Close()
				if n != size {
					b.Fatalf("download: %d bytes", n)
				}
				up, down = up+mid.Sub(start), down+time.Since(mid)
			}
			b.ReportMetric(float64(size)*float64(b.N)/up.Seconds()/1e6, "up-MB/s")
			b.ReportMetric(float64(size)*float64(b.N)/down.Seconds()/1e6, "down-MB/s")
		})
	}
}

// BenchmarkEdgeLinkConcurrency: 1,000 requests at once, spread over 100 cameras behind
// one agent, through EdgeLink. Every one must succeed; reports requests per second.
func BenchmarkEdgeLinkConcurrency(b *testing.B) {
	const cameras, concurrent = 100, 1000
	ro, targets := edgeLinkTargets(b, cameras)
	tg := targets["edgelink"]
	var serials []string
	for _, c := range ro.fleet.Cameras() {
		serials = append(serials, c.Info().Serial)
	}
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := map[string]int{}
		for i := range concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := tg.do(context.Background(), "GET", serials[i%cameras], "axis-cgi/param.cgi?action=list&group=Brand", nil, 0)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			b.Fatalf("errors among %d concurrent requests: %v", concurrent, errs)
		}
		b.ReportMetric(concurrent/time.Since(start).Seconds(), "req/s")
	}
}
