package discovery

import (
	"context"
	"fmt"
	"maps"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// The acceptance run of F3, inside a network namespace of its own: 50 cameras announced
// over mDNS are all listed within 10 s; 10 of them stop and are gone; the other 40
// restart on new ports (same state, so same serials) and are followed there as the same
// devices, changed; the 10 start again and appear again.
func TestMDNSFleetLifecycle(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	state := t.TempDir()
	fleetA := camsimtest.Start(t, 40, withMDNS, camsimtest.WithState(state))
	fleetB := camsimtest.Start(t, 10, withMDNS, withSerialOffset(40))
	cameras := map[string]*camsim.Camera{}
	for _, c := range append(fleetA.Cameras(), fleetB.Cameras()...) {
		cameras[c.Info().Serial] = c
	}
	serialsOf := func(f *camsim.Fleet) []string {
		var out []string
		for _, c := range f.Cameras() {
			out = append(out, c.Info().Serial)
		}
		return out
	}

	rec := &recorder{}
	w, err := New(Config{SweepInterval: time.Second, GoneAfter: 4 * time.Second, ProbeTimeout: 3 * time.Second,
		OnEvent: rec.on, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	startWatcher(t, w)
	testtool.WaitFor(t, 10*time.Second, "all 50 cameras listed", func() bool { return len(w.Devices()) == 50 })
	t.Logf("50 cameras listed after %s", time.Since(start).Round(time.Millisecond))
	// Listed with their facts, or (on a loaded machine) with the error of a first try
	// that timed out, then retried.
	testtool.WaitFor(t, 10*time.Second, "every camera listed with its facts", func() bool {
		return !slices.ContainsFunc(w.Devices(), func(d Device) bool { return !d.Enriched })
	})
	for _, d := range w.Devices() {
		c := cameras[d.Serial]
		if c == nil || d.Addr != addrOf(c) || d.Source != SourceMDNS || !d.Enriched || d.Model != c.Info().Model ||
			d.Firmware != c.FirmwareVersion() || d.Name != c.MDNSInstance() {
			t.Errorf("listed %+v", d)
		}
	}
	if got := rec.serials(EventAppeared); len(got) != 50 {
		t.Errorf("events while 50 cameras appear: %+v", rec.all())
	}
	for _, e := range rec.all() {
		if e.Kind != EventAppeared && (e.Kind != EventChanged || !e.Device.Enriched) {
			t.Errorf("while 50 cameras appear: %+v", e)
		}
	}

	// 10 stop: gone once not seen for GoneAfter and not answering.
	stopped := time.Now()
	fleetB.Close()
	testtool.WaitFor(t, 15*time.Second, "the 10 stopped cameras gone", func() bool { return len(rec.serials(EventGone)) >= 10 })
	t.Logf("10 stopped cameras gone after %s", time.Since(stopped).Round(time.Millisecond))
	if got := slices.Sorted(slices.Values(rec.serials(EventGone))); !slices.Equal(got, serialsOf(fleetB)) {
		t.Errorf("gone: %v, want %v", got, serialsOf(fleetB))
	}
	if got := w.Devices(); len(got) != 40 {
		t.Errorf("%d devices listed after 10 of 50 went", len(got))
	}

	// The 40 restart on new ports.
	before := len(rec.all())
	oldAddr := map[string]string{}
	for _, c := range fleetA.Cameras() {
		oldAddr[c.Info().Serial] = addrOf(c)
	}
	restarted := time.Now()
	fleetA.Close()
	fleetA = camsimtest.Start(t, 40, withMDNS, camsimtest.WithState(state))
	newAddr := map[string]string{}
	for _, c := range fleetA.Cameras() {
		newAddr[c.Info().Serial] = addrOf(c)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(newAddr)), slices.Sorted(maps.Keys(oldAddr))) {
		t.Fatal("the restarted fleet has other serials")
	}
	followed := func() bool {
		got := w.Devices()
		if len(got) != 40 {
			return false
		}
		for _, d := range got {
			if d.Addr != newAddr[d.Serial] {
				return false
			}
		}
		return true
	}
	// The list follows first and the events come right after it: wait for both.
	changed := map[string]bool{}
	movedAll := func() bool {
		clear(changed)
		for _, e := range rec.all()[before:] {
			if e.Kind == EventChanged && e.Device.Addr == newAddr[e.Device.Serial] {
				changed[e.Device.Serial] = true
			}
		}
		for serial, addr := range newAddr {
			if !changed[serial] && addr != oldAddr[serial] {
				return false
			}
		}
		return true
	}
	testtool.WaitFor(t, 15*time.Second, "the 40 restarted cameras followed to their new ports", func() bool { return followed() && movedAll() })
	t.Logf("40 restarted cameras followed to their new ports after %s", time.Since(restarted).Round(time.Millisecond))
	for _, e := range rec.all()[before:] {
		if e.Kind != EventChanged { // changed to the new address, or facts read again: fine
			t.Errorf("while the fleet restarted: %+v", e)
		}
	}
	for serial, addr := range newAddr {
		if !changed[serial] && addr != oldAddr[serial] {
			t.Errorf("no changed event for %s moving from %s to %s", serial, oldAddr[serial], addr)
		}
	}

	// The 10 come back and appear again.
	before = len(rec.all())
	fleetB = camsimtest.Start(t, 10, withMDNS, withSerialOffset(40))
	var back []string
	testtool.WaitFor(t, 10*time.Second, "the 10 returning cameras listed and appeared", func() bool {
		back = back[:0]
		for _, e := range rec.all()[before:] {
			if e.Kind == EventAppeared {
				back = append(back, e.Device.Serial)
			}
		}
		return len(w.Devices()) == 50 && len(back) >= 10
	})
	if slices.Sort(back); !slices.Equal(back, serialsOf(fleetB)) {
		t.Errorf("appeared again: %v, want %v", back, serialsOf(fleetB))
	}
}

// Announcements without the TXT key: the serial comes from an instance name that has it,
// and the device is listed even though nothing answers HTTP at its address (the error
// recorded); an announcement with neither is ignored. A device that keeps announcing is
// not gone, whether or not it answers HTTP.
func TestMDNSInstanceNameAndFailedEnrichment(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	lo, err := loopback()
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, closedPort(t))
	for _, a := range []struct{ instance, host string }{
		{"AXIS M1065-LW - ACCC12345678", "axis-accc12345678"},
		{"AXIS P3265-V", "axis-b8a44f631339"}, // AXIS OS 12 names, without the TXT key here
	} {
		srv, err := zeroconf.RegisterProxy(a.instance, ServiceType, "local.", port, a.host, []string{"127.0.0.1"},
			[]string{"path=/"}, []net.Interface{lo})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Shutdown)
	}
	w, err := New(Config{SweepInterval: 500 * time.Millisecond, GoneAfter: time.Second, ProbeTimeout: 500 * time.Millisecond,
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	testtool.WaitFor(t, 10*time.Second, "the camera listed", func() bool { return len(w.Devices()) == 1 })
	time.Sleep(3 * time.Second) // several sweeps, and longer than GoneAfter
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Nothing of the watcher or of its browsing is left running.
	var stacks string
	defer func() { // also when WaitFor gives up: show what is left
		if t.Failed() {
			t.Logf("goroutines left:\n%s", stacks)
		}
	}()
	testtool.WaitFor(t, 2*time.Second, "the watcher's and its browsing's goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "zeroconf.(*client)") && !strings.Contains(stacks, "discovery.(*Watcher)")
	})
	got := w.Devices()
	if len(got) != 1 {
		t.Fatalf("devices: %+v", got)
	}
	d := got[0]
	if d.Serial != "ACCC12345678" || d.Name != "AXIS M1065-LW - ACCC12345678" || d.Addr != fmt.Sprintf("127.0.0.1:%d", port) ||
		d.Source != SourceMDNS || d.Enriched || !strings.Contains(d.EnrichError, "no device answers") {
		t.Errorf("listed %+v", d)
	}
}
