package turn

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Failure reasons of relay_turn_auth_failures_total.
const (
	reasonMalformed = "malformed" // not a REST API username
	reasonExpired   = "expired"   // the username's expiry has passed
	reasonSignature = "signature" // the password is not the secret's HMAC of the username
)

type metrics struct {
	allocations  *prometheus.GaugeVec
	created      prometheus.Counter
	quotaRefused prometheus.Counter
	peerRefused  prometheus.Counter
	toPeer       prometheus.Counter
	fromPeer     prometheus.Counter
	authFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_turn_relayed_bytes_total",
		Help: "Bytes relayed by TURN allocations: to_peer (sent by clients), from_peer (sent to clients).",
	}, []string{"direction"})
	m := &metrics{
		allocations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "relay_turn_allocations",
			Help: "TURN allocations open, by organization.",
		}, []string{"org"}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_turn_allocations_total",
			Help: "TURN allocations made since start.",
		}),
		quotaRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_turn_allocations_refused_total",
			Help: "TURN allocations refused because the organization had its most allocations open.",
		}),
		peerRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_turn_peers_refused_total",
			Help: "TURN permissions or connections refused for a peer address the relay does not relay to (loopback, private, link-local, its own).",
		}),
		toPeer:   relayed.WithLabelValues("to_peer"),
		fromPeer: relayed.WithLabelValues("from_peer"),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_turn_auth_failures_total",
			Help: "TURN requests refused for their credentials: malformed username, expired, or wrong signature.",
		}, []string{"reason"}),
	}
	for _, r := range []string{reasonMalformed, reasonExpired, reasonSignature} {
		m.authFailures.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.allocations, m.created, m.quotaRefused, m.peerRefused, relayed, m.authFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("turn: register metrics: %w", err)
		}
	}
	return m, nil
}
