package mdns

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// browse collects what answers on loopback within d, by serial.
func browse(t *testing.T, d time.Duration) map[string]*zeroconf.ServiceEntry {
	t.Helper()
	lo, err := Loopback()
	if err != nil {
		t.Fatal(err)
	}
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces([]net.Interface{lo}), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		t.Fatal(err)
	}
	entries := make(chan *zeroconf.ServiceEntry, 256)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := r.Browse(ctx, ServiceType, "local.", entries); err != nil {
		t.Fatal(err)
	}
	found := map[string]*zeroconf.ServiceEntry{}
	for {
		select {
		case e := <-entries:
			for _, txt := range e.Text {
				if s, ok := strings.CutPrefix(txt, "macaddress="); ok {
					found[s] = e
				}
			}
		case <-ctx.Done():
			return found
		}
	}
}

func TestAnnounceAndBrowse(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	var anns []*Announcement
	cams := map[string]Camera{}
	for i := range 20 {
		c := Camera{Serial: fmt.Sprintf("ACCC8E%06X", 0x010000+i), ProdShortName: "AXIS P3265-V", IP: "127.0.0.1", Port: 8081 + i}
		a, err := Announce(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		anns = append(anns, a)
		cams[c.Serial] = c
	}
	found := browse(t, 3*time.Second)
	for serial, c := range cams {
		e, ok := found[serial]
		switch {
		case !ok:
			t.Errorf("camera %s not found", serial)
		case e.Port != c.Port || e.HostName != c.HostName() || len(e.AddrIPv4) == 0 || !e.AddrIPv4[0].Equal(net.ParseIP("127.0.0.1")):
			t.Errorf("camera %s announced as %+v", serial, e)
		case strings.ReplaceAll(e.Instance, `\ `, " ") != c.Instance():
			t.Errorf("instance %q, want %q", e.Instance, c.Instance())
		}
	}
	for _, a := range anns[:5] {
		a.Close()
	}
	again := browse(t, 3*time.Second)
	if len(again) != 15 {
		t.Errorf("after closing 5 of 20 announcements, %d cameras answer, want 15", len(again))
	}
	for _, a := range anns[5:] {
		a.Close()
	}
}

func TestAnnounceRejectsBadInput(t *testing.T) {
	if _, err := Announce(Camera{Serial: "123", Port: 80, IP: "127.0.0.1"}, nil); err == nil {
		t.Fatal("short serial accepted")
	}
}

// FuzzParseQuery: any datagram is parsed or dropped without a panic, and the answer to
// what parses names only the camera's own records.
func FuzzParseQuery(f *testing.F) {
	c := Camera{Serial: "ACCC8E010000", ProdShortName: "AXIS P3265-V", IP: "127.0.0.1", Port: 8081}
	rec := newRecords(c, "AXIS P3265-V")
	for _, q := range []dns.Question{
		{Name: ServiceType + ".local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET},
		{Name: rec.instance, Qtype: dns.TypeANY, Qclass: dns.ClassINET | unicastAnswer},
		{Name: c.HostName(), Qtype: dns.TypeAAAA, Qclass: dns.ClassINET},
	} {
		m := new(dns.Msg)
		m.Question = []dns.Question{q}
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, ok := ParseQuery(b)
		if !ok {
			return
		}
		ans, extra, _ := rec.answer(q.Question, q.Answer)
		for _, rr := range append(ans, extra...) {
			if n := rr.Header().Name; n != rec.instance && n != rec.host && n != ServiceType+".local." && n != enumName {
				t.Fatalf("answered with a record of %q", n)
			}
		}
	})
}
