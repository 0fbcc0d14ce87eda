package egress

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// BenchmarkEgress measures what the proxy adds to a VAPIX call. Each operation is a
// small VAPIX call, alternately a GET (param.cgi list) and a JSON POST
// (basicdeviceinfo.cgi getAllProperties), from benchWorkers concurrent callers:
//
//   - direct: straight to a simulated camera with Digest (nonce reused), as the agent's
//     own VAPIX client calls it;
//   - egress: the same calls without credentials to the Proxy served on loopback, which
//     adds the agent's Digest and forwards them to the same camera.
//
// It reports p50 and p99 latency in microseconds and calls per second; the table shows
// egress beside direct as a ratio.
func BenchmarkEgress(b *testing.B) {
	fleet, inv := startCameras(b, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(b, inv)
	const benchWorkers = 4
	pool := func() *http.Transport {
		return &http.Transport{Proxy: nil, MaxIdleConns: benchWorkers, MaxIdleConnsPerHost: benchWorkers}
	}
	modes := []struct {
		name string
		base string
		rt   http.RoundTripper
	}{
		{"direct", cam.Info().HTTP, &digest.Transport{Username: agentUser, Password: agentPassword, Transport: pool()}},
		{"egress", srv.URL + PathPrefix + cam.Info().Serial + "/vapix", pool()},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			client := &http.Client{Transport: m.rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			call := func(i int64) error {
				var req *http.Request
				if i%2 == 0 {
					req, _ = http.NewRequest(http.MethodGet, m.base+"/axis-cgi/param.cgi?action=list&group=Brand.Brand", nil)
				} else {
					req, _ = http.NewRequest(http.MethodPost, m.base+"/axis-cgi/basicdeviceinfo.cgi",
						strings.NewReader(`{"apiVersion":"1.3","context":"bench","method":"getAllProperties"}`))
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				defer res.Body.Close()
				if _, err := io.Copy(io.Discard, res.Body); err != nil {
					return err
				}
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%s: HTTP %d", req.URL.Path, res.StatusCode)
				}
				return nil
			}
			for i := range int64(2) { // the first challenge is not part of the figure
				if err := call(i); err != nil {
					b.Fatal(err)
				}
			}
			var (
				next atomic.Int64
				mu   sync.Mutex
				lat  = make([]time.Duration, 0, b.N)
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for range benchWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var local []time.Duration
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							break
						}
						t0 := time.Now()
						if err := call(i); err != nil {
							b.Error(err)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "calls/s")
		})
	}
}
