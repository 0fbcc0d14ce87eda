package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// requestInfo travels in the request context so that inner layers can tell the access
// log who the caller was; the outermost layer owns it.
type requestInfo struct {
	id         string
	principal  string
	org        string
	secretPath bool
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// RequestID returns the ID the API gave the request, for handlers mounted beside it.
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

// withRequestID gives every request a fresh ID, in the response header (and so in every
// problem body) and in the context. An ID sent by the client is not trusted: it could
// forge log lines that look like someone else's.
func (a *API) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		info := &requestInfo{id: hex.EncodeToString(b)}
		w.Header().Set(problem.RequestIDHeader, info.id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// withRecover turns a panic in a handler into a 500 problem and a log line instead of a
// dropped connection. http.ErrAbortHandler keeps its meaning.
func (a *API) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
				panic(v)
			}
			a.log.ErrorContext(r.Context(), "handler panic", "req", RequestID(r.Context()), "panic", fmt.Sprint(v))
			problem.Write(w, r, problem.New(problem.Internal, "the relay failed to handle the request; quote the request ID when reporting it"))
		}()
		next.ServeHTTP(w, r)
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return m, nil
}

// withObservability counts, times and logs every request. The route label is the
// matched pattern (never the raw path, which would make a series per device).
func (a *API) withObservability(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		a.metrics.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			a.metrics.inFlight.Dec()
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			// Set by the ServeMux on this same request, as "METHOD /path/{var}".
			_, route, _ := strings.Cut(r.Pattern, " ")
			if route == "" {
				route = "unmatched"
			}
			took := time.Since(start)
			a.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			a.metrics.duration.WithLabelValues(route, r.Method).Observe(took.Seconds())
			info := infoFrom(r.Context())
			attrs := []any{"req", info.id, "method", r.Method, "route", route, "status", sw.status,
				"bytes", sw.bytes, "took", took.Round(time.Microsecond), "remote", r.RemoteAddr}
			if !info.secretPath && !strings.HasPrefix(r.URL.Path, "/api/v1/invitations/") {
				attrs = append(attrs, "path", r.URL.Path)
			}
			if info.principal != "" {
				attrs = append(attrs, "principal", info.principal)
			}
			if info.org != "" {
				attrs = append(attrs, "org", info.org)
			}
			a.log.InfoContext(r.Context(), "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status and size of an answer. It passes Flush and Hijack
// through, so server-sent events and the agent WebSocket work behind it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes through to the connection.
func (s *statusWriter) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// Hijack passes through, for WebSocket upgrades (gorilla/websocket asserts http.Hijacker).
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(s.ResponseWriter).Hijack()
}
