package camsim_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
	"github.com/opencamcloud/camcloud/simulators/mdns"
)

// browseSerials lists the serials answering on loopback within d.
func browseSerials(t *testing.T, d time.Duration) map[string]int {
	t.Helper()
	lo, err := mdns.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces([]net.Interface{lo}), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		t.Fatal(err)
	}
	entries := make(chan *zeroconf.ServiceEntry, 64)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := r.Browse(ctx, mdns.ServiceType, "local.", entries); err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for {
		select {
		case e := <-entries:
			for _, txt := range e.Text {
				if s, ok := strings.CutPrefix(txt, "macaddress="); ok {
					found[s] = e.Port
				}
			}
		case <-ctx.Done():
			return found
		}
	}
}

func TestFleetAnnouncesOverMDNS(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	fleet := camsimtest.Start(t, 3, func(c *camsim.Config) { c.MDNS, c.MDNSInterface = true, "lo" })
	found := browseSerials(t, 2*time.Second)
	for _, c := range fleet.Cameras() {
		port := found[c.Info().Serial]
		if port == 0 || !strings.HasSuffix(c.Info().HTTP, ":"+strconv.Itoa(port)) {
			t.Errorf("camera %s announced with port %d, serves %s", c.Info().Serial, port, c.Info().HTTP)
		}
	}
	gone := fleet.Cameras()[0]
	gone.PowerOff()
	if again := browseSerials(t, 2*time.Second); again[gone.Info().Serial] != 0 || len(again) != 2 {
		t.Fatalf("after power-off the camera still answers: %v", again)
	}
}

// oneShot sends q from an ephemeral port (a one-shot querier, RFC 6762 section 5.1) to
// the mDNS group and collects the answers that come back to that port within d, until
// done says it has what it needs.
func oneShot(t *testing.T, q *dns.Msg, d time.Duration, done func([]*dns.Msg) bool) []*dns.Msg {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo(b, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}); err != nil {
		t.Fatal(err)
	}
	var got []*dns.Msg
	deadline := time.Now().Add(d)
	buf := make([]byte, 9000)
	for !done(got) {
		_ = conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			break
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatalf("unreadable answer: %v", err)
		}
		got = append(got, m)
	}
	return got
}

// records lists every record of the answers, answer and additional sections alike.
func allRecords(msgs []*dns.Msg) []dns.RR {
	var out []dns.RR
	for _, m := range msgs {
		out = append(out, m.Answer...)
		out = append(out, m.Extra...)
	}
	return out
}

// A resolver that is no mDNS browser finds a camera by asking directly: one-shot
// queries for the instance's SRV and TXT records and for the host's A and AAAA records
// (answered by unicast to the asking port, with its ID and question, TTL at most 10 s),
// and a plain DNS query sent to 127.0.0.1:5353. The instance name follows the firmware:
// "AXIS P3265-V" on AXIS OS 12, "<model> - <SERIAL>" before.
func TestMDNSDirectQueries(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	fleet := camsimtest.Start(t, 2, func(c *camsim.Config) { c.MDNS, c.MDNSInterface = true, "lo" })
	for i, c := range fleet.Cameras() {
		info := c.Info()
		wantName := map[int]string{0: "AXIS P3265-V", 1: "AXIS Q6135-LE - " + info.Serial}[i]
		if got := c.MDNSInstance(); got != wantName {
			t.Errorf("camera %d (%s, AXIS OS %s) announces %q, want %q", i, info.Model, c.FirmwareVersion(), got, wantName)
		}
		instance := strings.ReplaceAll(c.MDNSInstance(), " ", `\ `) + "._axis-video._tcp.local."
		host := "axis-" + strings.ToLower(info.Serial) + ".local."
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(info.HTTP, "http://"))

		q := new(dns.Msg)
		q.Id = dns.Id()
		q.Question = []dns.Question{
			{Name: instance, Qtype: dns.TypeSRV, Qclass: dns.ClassINET},
			{Name: instance, Qtype: dns.TypeTXT, Qclass: dns.ClassINET},
			{Name: host, Qtype: dns.TypeA, Qclass: dns.ClassINET},
			{Name: host, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET},
		}
		var srv *dns.SRV
		var txt *dns.TXT
		var a *dns.A
		var nsec *dns.NSEC
		msgs := oneShot(t, q, 5*time.Second, func(msgs []*dns.Msg) bool {
			for _, rr := range allRecords(msgs) {
				switch rr := rr.(type) {
				case *dns.SRV:
					srv = rr
				case *dns.TXT:
					txt = rr
				case *dns.A:
					a = rr
				case *dns.NSEC:
					nsec = rr
				}
			}
			return srv != nil && txt != nil && a != nil && nsec != nil
		})
		switch {
		case srv == nil || txt == nil || a == nil || nsec == nil:
			t.Fatalf("camera %s: one-shot query answered with %v", info.Serial, allRecords(msgs))
		case strconv.Itoa(int(srv.Port)) != port || srv.Target != host:
			t.Errorf("SRV %v, want port %s on %s", srv, port, host)
		case len(txt.Txt) != 1 || txt.Txt[0] != "macaddress="+info.Serial:
			t.Errorf("TXT %v", txt)
		case !a.A.Equal(net.IPv4(127, 0, 0, 1)):
			t.Errorf("A %v", a)
		case nsec.Hdr.Name != host || len(nsec.TypeBitMap) != 1 || nsec.TypeBitMap[0] != dns.TypeA:
			t.Errorf("no AAAA record, so an NSEC for the host listing only A; got %v", nsec)
		}
		for _, m := range msgs {
			if m.Id != q.Id || len(m.Question) != len(q.Question) {
				t.Errorf("one-shot answer with ID %d and %d questions, want the query's ID %d and questions", m.Id, len(m.Question), q.Id)
			}
			for _, rr := range append(m.Answer, m.Extra...) {
				if rr.Header().Ttl > 10 || rr.Header().Class != dns.ClassINET {
					t.Errorf("one-shot answer record %v: want TTL <= 10 and no cache-flush bit", rr)
				}
			}
		}

		// A plain DNS client asking the responder's unicast address.
		direct := new(dns.Msg)
		direct.SetQuestion(instance, dns.TypeANY)
		direct.RecursionDesired = false
		reply, _, err := (&dns.Client{Net: "udp", Timeout: 5 * time.Second}).Exchange(direct, "127.0.0.1:5353")
		if err != nil {
			t.Fatalf("direct ANY query: %v", err)
		}
		var types []string
		for _, rr := range reply.Answer {
			types = append(types, dns.TypeToString[rr.Header().Rrtype])
		}
		if !slices.Contains(types, "SRV") || !slices.Contains(types, "TXT") || len(reply.Extra) == 0 {
			t.Errorf("direct ANY query for %s answered %v", instance, reply)
		}
	}
}
