package mdns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// The responder answers mDNS queries (RFC 6762) for every camera announced on one
// interface, from one socket per process and interface: a fleet of a thousand cameras
// then costs one socket and one read loop, not a thousand. Each camera still answers in
// messages of its own, as separate devices on a network do.
//
// What it answers, per camera:
//   - PTR queries for _axis-video._tcp.local. (browsing) and for
//     _services._dns-sd._udp.local. (service enumeration), with SRV, TXT and the address
//     records in the additional section;
//   - SRV, TXT and ANY queries for the instance name, with the address records added;
//   - A, AAAA and ANY queries for the host name; a type the name has not is answered
//     with an NSEC record asserting which types exist (RFC 6762 section 6.1).
//
// Where the answer goes (RFC 6762 sections 5.4, 5.5 and 6.7): a query from a port other
// than 5353 is a one-shot ("legacy") query and gets a unicast reply to that address and
// port, with the query's ID, the question repeated, TTLs of at most 10 s and no
// cache-flush bit; a query sent to the unicast address or with the unicast-response (QU)
// bit gets a unicast reply; everything else is answered by multicast. Answers to shared
// (PTR) questions wait a random 20 to 120 ms, so that many devices do not all answer at
// once; answers about unique records go at once.

const (
	mdnsPort      = 5353
	enumName      = "_services._dns-sd._udp.local."
	ttlHost       = 120  // SRV, A, AAAA (RFC 6762 section 10: host name records)
	ttlOther      = 4500 // PTR, TXT
	legacyTTL     = 10   // at most, in answers to one-shot queries (section 6.7)
	cacheFlush    = 1 << 15
	unicastAnswer = 1 << 15 // the QU bit of a question's class
	maxPacket     = 9000    // section 17: the largest mDNS message
)

var groupV4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}

// records are what one camera answers with, made once when it is announced.
type records struct {
	instance, host string // fully qualified, in the escaped form miekg/dns uses
	ptr, enum      dns.RR
	srv, txt       dns.RR
	addrs          []dns.RR // A and AAAA
	nsecHost       dns.RR
	nsecInstance   dns.RR
}

func newRecords(c Camera, instance string) *records {
	svc := ServiceType + ".local."
	inst := escapeLabel(instance) + "." + svc
	host := c.HostName()
	hdr := func(name string, t uint16, ttl uint32, unique bool) dns.RR_Header {
		class := uint16(dns.ClassINET)
		if unique {
			class |= cacheFlush
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	r := &records{instance: inst, host: host}
	r.ptr = &dns.PTR{Hdr: hdr(svc, dns.TypePTR, ttlOther, false), Ptr: inst}
	r.enum = &dns.PTR{Hdr: hdr(enumName, dns.TypePTR, ttlOther, false), Ptr: svc}
	r.srv = &dns.SRV{Hdr: hdr(inst, dns.TypeSRV, ttlHost, true), Port: uint16(c.Port), Target: host}
	r.txt = &dns.TXT{Hdr: hdr(inst, dns.TypeTXT, ttlOther, true), Txt: []string{"macaddress=" + c.Serial}}
	ip := net.ParseIP(c.IP)
	hostTypes := []uint16{}
	if ip4 := ip.To4(); ip4 != nil {
		r.addrs = append(r.addrs, &dns.A{Hdr: hdr(host, dns.TypeA, ttlHost, true), A: ip4})
		hostTypes = append(hostTypes, dns.TypeA)
	} else {
		r.addrs = append(r.addrs, &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA, ttlHost, true), AAAA: ip})
		hostTypes = append(hostTypes, dns.TypeAAAA)
	}
	r.nsecHost = &dns.NSEC{Hdr: hdr(host, dns.TypeNSEC, ttlHost, true), NextDomain: host, TypeBitMap: hostTypes}
	r.nsecInstance = &dns.NSEC{Hdr: hdr(inst, dns.TypeNSEC, ttlOther, true), NextDomain: inst,
		TypeBitMap: []uint16{dns.TypeTXT, dns.TypeSRV}}
	return r
}

// escapeLabel writes one DNS label in the presentation form miekg/dns unpacks names to,
// so that names from queries compare equal to ours.
func escapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case strings.IndexByte(`.();@" \`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// answer collects what the camera says to the questions of one query: the answer
// section, the additional section, and whether any answer is a shared record (which
// waits before it goes). known are the answers the querier already has (section 7.1).
func (r *records) answer(questions []dns.Question, known []dns.RR) (ans, extra []dns.RR, shared bool) {
	has := func(set []dns.RR, rr dns.RR) bool {
		for _, x := range set {
			if x == rr {
				return true
			}
		}
		return false
	}
	add := func(set *[]dns.RR, rrs ...dns.RR) {
		for _, rr := range rrs {
			if !has(*set, rr) {
				*set = append(*set, rr)
			}
		}
	}
	for _, q := range questions {
		if q.Qclass&^unicastAnswer != dns.ClassINET && q.Qclass&^unicastAnswer != dns.ClassANY {
			continue
		}
		all := q.Qtype == dns.TypeANY
		switch {
		case strings.EqualFold(q.Name, r.ptr.Header().Name):
			if (all || q.Qtype == dns.TypePTR) && !knownPTR(known, r.instance) {
				add(&ans, r.ptr)
				add(&extra, r.srv, r.txt)
				add(&extra, r.addrs...)
				shared = true
			}
		case strings.EqualFold(q.Name, enumName):
			if all || q.Qtype == dns.TypePTR {
				add(&ans, r.enum)
				shared = true
			}
		case strings.EqualFold(q.Name, r.instance):
			switch {
			case all:
				add(&ans, r.srv, r.txt)
			case q.Qtype == dns.TypeSRV:
				add(&ans, r.srv)
			case q.Qtype == dns.TypeTXT:
				add(&ans, r.txt)
			default:
				add(&ans, r.nsecInstance)
			}
			if has(ans, r.srv) {
				add(&extra, r.addrs...)
				add(&extra, r.nsecHost)
			}
		case strings.EqualFold(q.Name, r.host):
			matched := false
			for _, a := range r.addrs {
				if all || a.Header().Rrtype == q.Qtype {
					add(&ans, a)
					matched = true
				}
			}
			if !matched {
				add(&ans, r.nsecHost)
			} else {
				add(&extra, r.nsecHost)
			}
		}
	}
	// The additional section repeats nothing of the answer section.
	out := extra[:0]
	for _, rr := range extra {
		if !has(ans, rr) {
			out = append(out, rr)
		}
	}
	return ans, out, shared
}

// knownPTR reports whether the querier listed our PTR among its known answers.
func knownPTR(known []dns.RR, instance string) bool {
	for _, rr := range known {
		if p, ok := rr.(*dns.PTR); ok && strings.EqualFold(p.Ptr, instance) && p.Hdr.Ttl >= ttlOther/2 {
			return true
		}
	}
	return false
}

// responder is the process's mDNS socket on one interface.
type responder struct {
	ifi  net.Interface
	conn *ipv4.PacketConn
	done chan struct{}

	mu   sync.RWMutex
	anns map[*Announcement]struct{}
}

// responders are the process's mDNS sockets, one per interface, shared by every
// announcement on it.
var responders = PerInterface[*responder]{
	Open: openResponder,
	Close: func(r *responder) {
		_ = r.conn.Close()
		<-r.done
	},
}

func openResponder(ifi net.Interface) (*responder, error) {
	conn, err := ListenGroup(ifi, groupV4, mdnsPort, 255)
	if err != nil {
		return nil, fmt.Errorf("mdns: %w", err)
	}
	if err := conn.SetTTL(255); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mdns: unicast TTL on %s: %w", ifi.Name, err)
	}
	r := &responder{ifi: ifi, conn: conn, done: make(chan struct{}), anns: map[*Announcement]struct{}{}}
	go r.serve()
	return r, nil
}

func (r *responder) add(a *Announcement) {
	r.mu.Lock()
	r.anns[a] = struct{}{}
	r.mu.Unlock()
}

func (r *responder) remove(a *Announcement) {
	r.mu.Lock()
	delete(r.anns, a)
	r.mu.Unlock()
}

func (r *responder) serve() {
	defer close(r.done)
	buf := make([]byte, maxPacket)
	for {
		n, cm, src, err := r.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if cm != nil && cm.IfIndex != 0 && cm.IfIndex != r.ifi.Index {
			continue // another interface's traffic, seen through the wildcard socket
		}
		from, ok := src.(*net.UDPAddr)
		if !ok {
			continue
		}
		q, ok := ParseQuery(buf[:n])
		if !ok {
			continue
		}
		toGroup := cm == nil || cm.Dst == nil || cm.Dst.IsMulticast()
		r.respond(q, from, toGroup)
	}
}

// ParseQuery reads an mDNS message and keeps it only if it is a standard query to
// answer (RFC 6762 section 18: responses, other opcodes and non-zero rcodes are not).
func ParseQuery(b []byte) (*dns.Msg, bool) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return nil, false
	}
	if m.Response || m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess || len(m.Question) == 0 {
		return nil, false
	}
	return m, true
}

// respond sends each announced camera's answer to q, if it has one.
func (r *responder) respond(q *dns.Msg, from *net.UDPAddr, toGroup bool) {
	legacy := from.Port != mdnsPort
	unicast := legacy || !toGroup
	for _, question := range q.Question {
		if question.Qclass&unicastAnswer != 0 {
			unicast = true
		}
	}
	r.mu.RLock()
	anns := make([]*Announcement, 0, len(r.anns))
	for a := range r.anns {
		anns = append(anns, a)
	}
	r.mu.RUnlock()
	for _, a := range anns {
		ans, extra, shared := a.rec.answer(q.Question, q.Answer)
		if len(ans) == 0 {
			continue
		}
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer, m.Extra = ans, extra
		dst := groupV4
		if unicast {
			dst = from
		}
		if legacy {
			m.Id = q.Id
			m.Question = q.Question
			m.Answer, m.Extra = legacyCopy(ans), legacyCopy(extra)
		}
		b, err := m.Pack()
		if err != nil {
			continue
		}
		if !shared {
			r.send(b, dst)
			continue
		}
		delay := 20*time.Millisecond + rand.N(100*time.Millisecond)
		time.AfterFunc(delay, func() { r.send(b, dst) })
	}
}

// legacyCopy readies records for a one-shot querier: TTL at most 10 s and no cache-flush
// bit (RFC 6762 section 6.7).
func legacyCopy(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		h := c.Header()
		h.Class &^= cacheFlush
		h.Ttl = min(h.Ttl, legacyTTL)
		out[i] = c
	}
	return out
}

func (r *responder) send(b []byte, dst *net.UDPAddr) {
	// A closed socket (the last camera left meanwhile) only loses this answer.
	_, _ = r.conn.WriteTo(b, &ipv4.ControlMessage{IfIndex: r.ifi.Index}, dst)
}

// announce sends the camera's records unsolicited (ttl 0: goodbye).
func (r *responder) announce(rec *records, goodbye bool) {
	rrs := []dns.RR{rec.ptr, rec.srv, rec.txt}
	rrs = append(rrs, rec.addrs...)
	if goodbye {
		rrs = append([]dns.RR(nil), rrs...)
		for i, rr := range rrs {
			c := dns.Copy(rr)
			c.Header().Ttl = 0
			rrs[i] = c
		}
	}
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = rrs
	if b, err := m.Pack(); err == nil {
		r.send(b, groupV4)
	}
}
