package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencamcloud/camcloud/internal/relay/connlimit"
)

// guardListener bounds the connections ln hands the HTTP server (package connlimit) and
// shows what it holds and sheds on /metrics.
func guardListener(ln net.Listener, cfg connlimit.Config, reg prometheus.Registerer) (*connlimit.Listener, error) {
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_conns_shed_total",
		Help: "Connections closed to make room (reason address, anonymous or total) or refused for want of room (full).",
	}, []string{"reason"})
	cfg.OnShed = func(reason string) { shed.WithLabelValues(reason).Inc() }
	gl, err := connlimit.NewListener(ln, cfg)
	if err != nil {
		return nil, err
	}
	lim := gl.Limits()
	cs := []prometheus.Collector{
		shed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "relay_conns_open", Help: "Client connections open (people, applications, agents).",
		}, func() float64 { return float64(gl.Stats().Open) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "relay_conns_anonymous", Help: "Open connections on which no request has yet shown who the caller is.",
		}, func() float64 { return float64(gl.Stats().Anonymous) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "relay_conns_max", Help: "Most connections held at once (file descriptor limit less the reserve, or --max-conns).",
		}, func() float64 { return float64(lim.MaxConns) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("relay: register connection metrics: %w", err)
		}
	}
	return gl, nil
}

// errorLog carries net/http's own messages into the relay's log. A failed TLS handshake
// is routine (scanners, clients that give up, connections shed to make room) and under
// attack there is one per connection: those go to debug, so that the log does not
// become a second way to flood the relay.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, msg)
	return len(p), nil
}
