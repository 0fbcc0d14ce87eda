package vapix_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// countingTransport counts HTTP round trips, to show the client reuses the nonce: about
// one round trip per call once the first challenge was answered.
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// BenchmarkDeviceInfo calls getAllProperties against camsim from 64 concurrent callers
// sharing one client (Digest, connections and nonce reused) and reports p50/p99 latency,
// requests/s and round trips per call. The baseline in the same run is the same API's
// unauthenticated getAllUnrestrictedProperties, which needs no Digest at all.
func BenchmarkDeviceInfo(b *testing.B) {
	cam := camsimtest.Start(b, 1).Cameras()[0]
	const workers = 64
	for _, mode := range []string{"baseline", "digest"} {
		b.Run(mode, func(b *testing.B) {
			tr := &countingTransport{rt: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: workers}}
			c, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password, Transport: tr})
			if err != nil {
				b.Fatal(err)
			}
			call := c.DeviceInfo
			if mode == "baseline" {
				call = c.UnrestrictedDeviceInfo
			}
			ctx := context.Background()
			if _, err := call(ctx); err != nil { // the first challenge is not part of the figure
				b.Fatal(err)
			}
			tr.n.Store(0)
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					local := make([]time.Duration, 0, b.N/workers+1)
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := call(ctx); err != nil {
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
			slices.Sort(lat)
			if len(lat) == 0 {
				return
			}
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(tr.n.Load())/float64(len(lat)), "roundtrips/op")
		})
	}
}
