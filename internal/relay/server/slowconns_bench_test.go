package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// besiege keeps n attacking connections open against the relay until ctx ends: whenever
// the relay closes one (a deadline, or shed to make room), another takes its place, at
// most perSecond new connections a second, as a patient attacker on a thin line would.
// It returns when every attacker has stopped.
func besiege(ctx context.Context, b *testing.B, r *relaytest.Relay, n, perSecond int) (wait func()) {
	roots := caPool(b, r)
	tokens := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	})
	for i := range n {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-tokens:
				}
				c, err := stall(ctx, r, roots, i)
				if err != nil {
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				_, _ = io.Copy(io.Discard, c) // until the relay (or the end) closes it
				stop()
				c.Close()
			}
		})
	}
	return wg.Wait
}

// BenchmarkSignInUnderSlowConnections measures a sign-in on a fresh connection and an
// API call with its token, first with nothing else going on (baseline), then while
// 10,000 attacking connections stall in the TLS handshake and after their request
// headers (half each), replaced at 500 a second as the relay closes them. The attackers
// run in this process and so take their share of the 2 cores; the figures include that.
// Any failed call fails the benchmark.
func BenchmarkSignInUnderSlowConnections(b *testing.B) {
	r := relaytest.Start(b, timeouts(10*time.Second, 10*time.Second))
	for _, name := range []string{"baseline", "stalled"} {
		b.Run(name, func(b *testing.B) {
			if name == "stalled" {
				ctx, cancel := context.WithCancel(context.Background())
				wait := besiege(ctx, b, r, 2**stallers, 500)
				defer func() { cancel(); wait() }()
				// Let the attack fill the relay's anonymous slots before measuring.
				testtool.WaitFor(b, time.Minute, "the attack to fill the anonymous slots", func() bool { return anonymousConns(b, r) >= 4000 })
				b.ResetTimer()
			}
			var signIns, calls []time.Duration
			api := relaytest.TrustingClient(b, r.CAFile)
			for b.Loop() {
				fresh := relaytest.TrustingClient(b, r.CAFile)
				fresh.Transport.(*http.Transport).DisableKeepAlives = true
				start := time.Now()
				res, err := fresh.PostForm(r.URL+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {relaytest.AdminEmail}, "password": {relaytest.AdminPassword}})
				if err != nil {
					b.Fatalf("sign-in: %v", err)
				}
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				if res.StatusCode != http.StatusOK {
					b.Fatalf("sign-in: %s", res.Status)
				}
				decodeJSON(b, res, &tok)
				signIns = append(signIns, time.Since(start))

				start = time.Now()
				req, _ := http.NewRequest(http.MethodGet, r.URL+"/api/v1/orgs", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				res, err = api.Do(req)
				if err != nil {
					b.Fatalf("list organizations: %v", err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("list organizations: %s", res.Status)
				}
				calls = append(calls, time.Since(start))
			}
			b.StopTimer()
			report(b, "signin", signIns)
			report(b, "api", calls)
			if name == "stalled" {
				b.ReportMetric(float64(anonymousConns(b, r)), "anonymous-conns")
			}
		})
	}
}

func report(b *testing.B, what string, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, what+"-p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, what+"-p99-ms")
}

// anonymousConns reads the relay's relay_conns_anonymous gauge.
func anonymousConns(b testing.TB, r *relaytest.Relay) float64 {
	return metric(b, r, "relay_conns_anonymous")
}

// metric reads one unlabelled metric from the relay's /metrics.
func metric(b testing.TB, r *relaytest.Relay, name string) float64 {
	b.Helper()
	res, err := r.Client.Get(r.URL + "/metrics")
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	b.Fatalf("metric %s not on /metrics", name)
	return 0
}

func decodeJSON(b testing.TB, res *http.Response, v any) {
	b.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		b.Fatalf("decode: %v", err)
	}
}
