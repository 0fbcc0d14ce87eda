package discovery

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/grandcat/zeroconf"
)

// ServiceType is the DNS-SD service type Axis devices announce (vapix.md section 16).
const ServiceType = "_axis-video._tcp"

// sighting is one usable mDNS answer.
type sighting struct {
	serial string
	addr   string   // host:port of the HTTP endpoint: the first IPv4 address and the SRV port
	ips    []string // every IPv4 address announced
	port   string
	name   string // instance name, unescaped
}

// announces says whether addr is one of the addresses the answer gives.
func (s sighting) announces(addr string) bool {
	for _, ip := range s.ips {
		if net.JoinHostPort(ip, s.port) == addr {
			return true
		}
	}
	return false
}

// sightingFrom reads a browse answer: the serial from the TXT key macaddress, else from
// the instance name; the address from the first IPv4 address (link-local ones only when
// there is no other) and the port. Answers without a serial or an IPv4 address are of
// no use.
func sightingFrom(e *zeroconf.ServiceEntry) (sighting, bool) {
	if e == nil || e.Port <= 0 || e.Port > 65535 {
		return sighting{}, false
	}
	name := unescapeInstance(e.Instance)
	serial := serialFromTXT(e.Text)
	if serial == "" {
		serial = serialFromInstance(name)
	}
	name = cleanName(name)
	if serial == "" {
		return sighting{}, false
	}
	var ips, linkLocal []string
	for _, ip := range e.AddrIPv4 {
		ip4 := ip.To4()
		switch {
		case ip4 == nil || ip4.IsUnspecified() || ip4.IsMulticast():
		case ip4.IsLinkLocalUnicast():
			linkLocal = append(linkLocal, ip4.String())
		default:
			ips = append(ips, ip4.String())
		}
	}
	ips = append(ips, linkLocal...)
	if len(ips) == 0 {
		return sighting{}, false
	}
	port := strconv.Itoa(e.Port)
	return sighting{serial: serial, addr: net.JoinHostPort(ips[0], port), ips: ips, port: port, name: name}, true
}

// sweep browses once (for SweepInterval, at most maxBrowseWindow) and records every
// answer as it comes. It returns how many usable answers came and how many of them were
// news (a new serial, or a known one at a new address). Each sweep is a fresh browse:
// zeroconf stops asking again after its first answer, and a fresh query makes every
// device answer again.
func (w *Watcher) sweep(ctx context.Context) (seen, news int, err error) {
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(w.cfg.Interfaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return 0, 0, fmt.Errorf("discovery: mDNS resolver on %s: %w", ifaceNames(w.cfg.Interfaces), err)
	}
	browseCtx, cancel := context.WithTimeout(ctx, min(w.cfg.SweepInterval, maxBrowseWindow))
	defer cancel()
	entries := make(chan *zeroconf.ServiceEntry, 64)
	if err := r.Browse(browseCtx, ServiceType, "local.", entries); err != nil {
		// Browse's own goroutine closes the connections and entries.
		cancel()
		for range entries {
		}
		return 0, 0, fmt.Errorf("discovery: mDNS browse: %w", err)
	}
	// zeroconf closes entries when ctx ends; until then every answer is read, so that
	// its goroutine never blocks on us.
	for e := range entries {
		s, ok := sightingFrom(e)
		if !ok {
			w.log.Debug("mDNS answer without serial or IPv4 address", "instance", e.Instance, "txt", e.Text)
			continue
		}
		seen++
		if w.sighted(ctx, s) { // ctx, not browseCtx: the probes it starts outlive the sweep
			news++
		}
	}
	return seen, news, nil
}
