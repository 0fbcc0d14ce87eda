package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file finds devices that do not announce themselves, by probing a range of
// addresses.

const (
	scanConcurrency = 64 // probes of one Scan at once
	maxScanHostBits = 16 // a /16 (IPv4) or /112 (IPv6) at most
	defaultHTTPPort = 80
)

// Scan probes every address of prefix on every port (default 80), at most 64 at once,
// and lists the Axis devices that answer, as Add does. It returns them sorted by serial
// (a device answering on several ports once). Prefixes larger than /16 (/112 for IPv6)
// are refused. For an IPv4 prefix up to /30 the network and broadcast addresses are
// skipped. When ctx ends, Scan stops and returns what it found with ctx's error.
//
// Addresses that drop packets instead of refusing cost a whole ProbeTimeout each: a /16
// where nothing answers takes about 65,536 × len(ports) / 64 × ProbeTimeout (34 minutes
// for one port at the default 2 s); give ctx a deadline accordingly.
func (w *Watcher) Scan(ctx context.Context, prefix netip.Prefix, ports []int) ([]Device, error) {
	if !prefix.IsValid() {
		return nil, errors.New("discovery: scan: invalid prefix")
	}
	prefix = prefix.Masked()
	hostBits := prefix.Addr().BitLen() - prefix.Bits()
	if hostBits > maxScanHostBits {
		return nil, fmt.Errorf("discovery: scan %s: prefix larger than /%d (%s addresses); scan at most %d addresses at once",
			prefix, prefix.Addr().BitLen()-maxScanHostBits, sizeText(hostBits), 1<<maxScanHostBits)
	}
	ports, err := scanPorts(ports)
	if err != nil {
		return nil, fmt.Errorf("discovery: scan %s: %w", prefix, err)
	}

	var (
		mu    sync.Mutex
		found = map[string]Device{}
		wg    sync.WaitGroup
		sem   = make(chan struct{}, scanConcurrency)
	)
	probeOne := func(addr string) {
		defer func() { <-sem }()
		serial, info, err := w.probe(ctx, addr, "")
		if err != nil {
			if !errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
				w.log.Debug("scan: not an Axis device", "addr", addr, "err", err)
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, dup := found[serial]; !dup {
			found[serial] = w.found(serial, addr, SourceScan, info)
		}
	}
	probes := 0
addrs:
	for a := range hostAddrs(prefix) {
		for _, port := range ports {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break addrs
			}
			probes++
			addr := net.JoinHostPort(a.String(), strconv.Itoa(port))
			wg.Go(func() { probeOne(addr) })
		}
	}
	wg.Wait()

	out := make([]Device, 0, len(found))
	for _, d := range found {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.Serial, b.Serial) })
	w.log.Info("scan", "prefix", prefix, "ports", ports, "probes", probes, "found", len(out))
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("discovery: scan %s: stopped after %d probes: %w", prefix, probes, err)
	}
	return out, nil
}

// hostAddrs yields the addresses of a masked prefix, without the network and broadcast
// addresses of an IPv4 prefix of /30 or larger.
func hostAddrs(p netip.Prefix) func(yield func(netip.Addr) bool) {
	return func(yield func(netip.Addr) bool) {
		skipEnds := p.Addr().Is4() && p.Bits() <= 30
		for a := p.Addr(); a.IsValid() && p.Contains(a); a = a.Next() {
			if skipEnds && (a == p.Addr() || !p.Contains(a.Next())) {
				continue
			}
			if !yield(a) {
				return
			}
		}
	}
}

// scanPorts checks ports and drops repeats; none means port 80.
func scanPorts(ports []int) ([]int, error) {
	if len(ports) == 0 {
		return []int{defaultHTTPPort}, nil
	}
	if len(ports) > 1024 {
		return nil, fmt.Errorf("%d ports: scan at most 1024 at once", len(ports))
	}
	out := make([]int, 0, len(ports))
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d out of range", p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// sizeText is 2^bits, readable.
func sizeText(bits int) string {
	if bits < 63 {
		return strconv.FormatUint(1<<bits, 10)
	}
	return "2^" + strconv.Itoa(bits)
}
