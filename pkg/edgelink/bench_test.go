package edgelink

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The benchmarks compare the link with the path it replaces, in the same run: "direct"
// is an HTTPS client talking to the agent's handler over loopback TCP+TLS (mutual, as
// the link), "link" is the relay's Transport reaching the same handler over the link
// (WebSocket over mutual TLS, yamux, HTTP/1.1 on a stream). Connections are reused in
// both. make bench prints each link figure beside its direct baseline.

// benchHandler is the agent's side of the benchmarks.
func benchHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"serial":"ACCC8E000001","model":"M3106-L Mk II","firmware":"11.11.73"}`)
	})
	mux.HandleFunc("POST /discard", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r.Body}, buf)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, io.LimitReader(repeatReader{}, n))
	})
	return mux
}

// repeatBlock is the content of benchmark bodies: random, so that nothing along the
// way could compress it, and repeated, so that making it costs nothing.
var repeatBlock = func() []byte {
	b := make([]byte, 64<<10)
	_, _ = rand.Read(b)
	return b
}()

type repeatReader struct{}

func (repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], repeatBlock)
	}
	return n, nil
}

// benchTarget is one way to reach benchHandler: a client and a base URL.
type benchTarget struct {
	client *http.Client
	base   string
}

// directTarget serves benchHandler over HTTPS with the relay's mutual TLS.
func directTarget(b *testing.B) benchTarget {
	p := newTestPKI(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{
		Handler:      benchHandler(),
		TLSConfig:    p.serverTLS(),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1, as the link
		ErrorLog:     slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	tr := &http.Transport{TLSClientConfig: p.agentTLS("direct"), MaxIdleConnsPerHost: 4, DisableCompression: true}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return benchTarget{client: &http.Client{Transport: tr}, base: "https://" + ln.Addr().String()}
}

// linkTarget serves benchHandler on an agent linked to a relay over wss.
func linkTarget(b *testing.B) benchTarget {
	e := startLink(b, kindWS, linkOptions{
		agentHandler: benchHandler(),
		logger:       slog.New(slog.DiscardHandler),
	})
	e.waitConnected()
	return benchTarget{client: e.relayClient(), base: "http://" + AgentHost(e.agentID)}
}

var benchTargets = []struct {
	name  string
	start func(*testing.B) benchTarget
}{{"direct", directTarget}, {"link", linkTarget}}

// BenchmarkRoundTrip is a small GET (an API call to a camera), one at a time on a
// reused connection; it reports the median and 99th percentile latency.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bt := range benchTargets {
		b.Run(bt.name, func(b *testing.B) {
			t := bt.start(b)
			url := t.base + "/small"
			for range 100 { // warm up: connection, TLS, pools
				roundTrip(b, t.client, url)
			}
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				roundTrip(b, t.client, url)
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

func roundTrip(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// throughputSize is each transfer of BenchmarkThroughput: issue 7's 256 MiB.
const throughputSize = 256 << 20

// BenchmarkThroughput uploads and then downloads throughputSize bytes per iteration,
// with TLS on, and reports each direction's rate beside the combined MB/s.
func BenchmarkThroughput(b *testing.B) {
	for _, bt := range benchTargets {
		b.Run(bt.name, func(b *testing.B) {
			t := bt.start(b)
			upload(b, t, 1<<20) // warm up
			var up, down time.Duration
			b.SetBytes(2 * throughputSize)
			for b.Loop() {
				start := time.Now()
				upload(b, t, throughputSize)
				mid := time.Now()
				download(b, t, throughputSize)
				up, down = up+mid.Sub(start), down+time.Since(mid)
			}
			b.ReportMetric(float64(throughputSize)*float64(b.N)/up.Seconds()/1e6, "up-MB/s")
			b.ReportMetric(float64(throughputSize)*float64(b.N)/down.Seconds()/1e6, "down-MB/s")
		})
	}
}

func upload(b *testing.B, t benchTarget, n int64) {
	req, _ := http.NewRequestWithContext(context.Background(), "POST", t.base+"/discard", io.LimitReader(repeatReader{}, n))
	req.ContentLength = n
	resp, err := t.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != strconv.FormatInt(n, 10) {
		b.Fatalf("upload: %s %q", resp.Status, got)
	}
}

func download(b *testing.B, t benchTarget, n int64) {
	resp, err := t.client.Get(t.base + "/stream?n=" + strconv.FormatInt(n, 10))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	got, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
	resp.Body.Close()
	if err != nil || got != n {
		b.Fatalf("download: %d of %d bytes: %v", got, n, err)
	}
}
