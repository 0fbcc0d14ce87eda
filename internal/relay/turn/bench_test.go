package turn

import (
	"errors"
	"net"
	"testing"
	"time"
)

// Session shape of BenchmarkTURNThroughput: messages of a WebRTC packet's size, a
// bounded count per session, a window of messages in flight.
const (
	benchMessageSize = 1200
	benchMessages    = 4000
	benchWindow      = 64
	benchLossWait    = 50 * time.Millisecond
)

// BenchmarkTURNThroughput relays one session (a pion client over UDP -> TURN -> a UDP
// echo peer on loopback and back) through the built-in server and through coturn,
// started here with the same secret scheme, each in a process of its own. Each sub-benchmark reports its server's MB/s
// of payload relayed (both directions). This machine is shared and its load changes
// from second to second, so every iteration of either sub-benchmark relays one session
// through each server, one after the other, and the coturn sub-benchmark reports the
// ratio builtin/coturn over those pairs (goal: >= 0.8).
func BenchmarkTURNThroughput(b *testing.B) {
	ours := startChildServer(b, testSecret)
	coturn := startCoturn(b, testSecret, DefaultRealm)
	peer := echoPeer(b)
	cred := NewCredential(testSecret, "org_bench", time.Now().Add(time.Hour))
	allocate := func(b *testing.B, addr string) net.PacketConn {
		relay, err := dialClient(b, overUDP, addr, nil, cred.Username, cred.Password, DefaultRealm).Allocate()
		if err != nil {
			b.Fatalf("allocate at %s: %v", addr, err)
		}
		b.Cleanup(func() { _ = relay.Close() })
		// The first exchange sets up the permission and the channel binding.
		if err := roundTrip(relay, peer.LocalAddr(), []byte("warm up")); err != nil {
			b.Fatal(err)
		}
		return relay
	}
	for _, name := range []string{"builtin", "coturn"} {
		b.Run(name, func(b *testing.B) {
			relays := [2]net.PacketConn{allocate(b, ours), allocate(b, coturn)}
			var bytes [2]int64
			var took [2]time.Duration
			for b.Loop() {
				for i, relay := range relays {
					n, d := relaySession(b, relay, peer.LocalAddr())
					bytes[i], took[i] = bytes[i]+n, took[i]+d
				}
			}
			mbps := func(i int) float64 { return float64(bytes[i]) / 1e6 / took[i].Seconds() }
			if name == "builtin" {
				b.ReportMetric(mbps(0), "MB/s")
			} else {
				b.ReportMetric(mbps(1), "MB/s")
				b.ReportMetric(mbps(0)/mbps(1), "builtin/coturn")
			}
		})
	}
}

// relaySession sends benchMessages through relay to the echo peer, keeping benchWindow
// in flight, and returns the payload bytes relayed (out and back) and the time taken.
// A message that does not come back within benchLossWait counts as lost.
func relaySession(b *testing.B, relay net.PacketConn, peer net.Addr) (int64, time.Duration) {
	msg := make([]byte, benchMessageSize)
	buf := make([]byte, 2*benchMessageSize)
	var sent, back, lost, inflight int
	start := time.Now()
	for back+lost < benchMessages {
		for inflight < benchWindow && sent < benchMessages {
			if _, err := relay.WriteTo(msg, peer); err != nil {
				b.Fatalf("send: %v", err)
			}
			sent++
			inflight++
		}
		_ = relay.SetReadDeadline(time.Now().Add(benchLossWait))
		n, _, err := relay.ReadFrom(buf)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			lost += inflight
			inflight = 0
		case err != nil:
			b.Fatalf("receive: %v", err)
		case n == benchMessageSize:
			back++
			inflight = max(inflight-1, 0) // a late answer of a window counted lost
		}
	}
	elapsed := time.Since(start)
	if lost > benchMessages/10 {
		b.Fatalf("%d of %d messages lost", lost, benchMessages)
	}
	// Late answers of a timed-out window would be read as the next session's: drain.
	_ = relay.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	for {
		if _, _, err := relay.ReadFrom(buf); err != nil {
			break
		}
	}
	return int64(2 * back * benchMessageSize), elapsed
}
