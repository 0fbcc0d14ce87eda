package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func TestNewChecksConfig(t *testing.T) {
	w, err := New(Config{DisableMDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg.SweepInterval != 5*time.Second || w.cfg.GoneAfter != 15*time.Second || w.cfg.ProbeTimeout != 2*time.Second {
		t.Errorf("defaults: %+v", w.cfg)
	}
	_, err = New(Config{SweepInterval: -time.Second, GoneAfter: time.Millisecond, ProbeTimeout: -1,
		Interfaces: []net.Interface{{Name: "nomcast0", Flags: net.FlagUp}}})
	for _, want := range []string{"sweep interval -1s is negative", "probe timeout", "multicast off"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if _, err := New(Config{DisableMDNS: true, SweepInterval: time.Second, GoneAfter: time.Millisecond}); err == nil ||
		!strings.Contains(err.Error(), "shorter than the sweep interval") {
		t.Errorf("GoneAfter < SweepInterval: %v", err)
	}
	if _, err := New(Config{Interfaces: []net.Interface{}}); err == nil {
		t.Error("no interfaces and mDNS on: accepted")
	}
}

func TestAddCamera(t *testing.T) {
	fleet := camsimtest.Start(t, 2)
	w, err := New(Config{DisableMDNS: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range fleet.Cameras() {
		info := c.Info()
		d, err := w.Add(ctx, info.HTTP) // http://127.0.0.1:port
		if err != nil {
			t.Fatal(err)
		}
		if d.Serial != info.Serial || d.Addr != addrOf(c) || d.Source != SourceManual || !d.Enriched || d.EnrichError != "" ||
			d.Model != info.Model || d.Brand != "AXIS" || d.Firmware != c.FirmwareVersion() || d.ProdFullName == "" ||
			d.ProdType == "" || d.HardwareID == "" || d.FirstSeen.IsZero() || d.LastSeen.Before(d.FirstSeen) {
			t.Errorf("added %+v for camera %+v", d, info)
		}
	}
	again, err := w.Add(ctx, addrOf(fleet.Cameras()[0]))
	if err != nil || again.Serial != fleet.Cameras()[0].Info().Serial {
		t.Fatalf("adding again: %+v, %v", again, err)
	}
	got := w.Devices()
	if len(got) != 2 || got[0].Serial >= got[1].Serial {
		t.Fatalf("devices after adding one of two cameras twice: %+v", got)
	}
}

func TestAddRejectsWhatIsNotAnAxisDevice(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	noSerial := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprint(rw, `{"apiVersion":"1.3","data":{"propertyList":{"Brand":"ACME"}}}`)
	}))
	defer noSerial.Close()
	html := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprint(rw, "<html>router login</html>")
	}))
	defer html.Close()
	closed := closedPort(t)

	w, err := New(Config{DisableMDNS: true, ProbeTimeout: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		is   error
		says string
	}{
		{notFound.URL, ErrNotAxis, "not an Axis device: no basicdeviceinfo.cgi (HTTP 404)"},
		{noSerial.URL, ErrNotAxis, `not an Axis device: basicdeviceinfo.cgi reports a serial number that is not 12 hex digits`},
		{html.URL, ErrNotAxis, "not an Axis device: the answer is not a basicdeviceinfo.cgi reply"},
		{closed, ErrNoAnswer, "no device answers"},
	} {
		d, err := w.Add(t.Context(), c.addr)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) || d.Serial != "" {
			t.Errorf("Add(%s) = %+v, %v; want an error saying %q", c.addr, d, err, c.says)
		} else {
			t.Logf("Add(%s): %v", c.addr, err)
		}
	}
	if _, err := w.Add(t.Context(), "https://camera"); err == nil || !strings.Contains(err.Error(), "only http://") {
		t.Errorf("https: %v", err)
	}
	if got := w.Devices(); len(got) != 0 {
		t.Errorf("devices: %+v", got)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func portOf(t testing.TB, addr string) int {
	_, p, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestScanLoopback(t *testing.T) {
	fleet := camsimtest.Start(t, 3)
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	ports := []int{portOf(t, closedPort(t)), portOf(t, other.URL)}
	var want []string
	for _, c := range fleet.Cameras() {
		ports = append(ports, portOf(t, c.Info().HTTP))
		want = append(want, c.Info().Serial)
	}
	ports = append(ports, ports[2]) // repeated
	rec := &recorder{}
	w, err := New(Config{DisableMDNS: true, ProbeTimeout: time.Second, OnEvent: rec.on, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"127.0.0.1/32", "127.0.0.0/29"} { // the second also probes 127.0.0.2-6: refused
		got, err := w.Scan(t.Context(), netip.MustParsePrefix(prefix), ports)
		if err != nil {
			t.Fatal(err)
		}
		var serials []string
		for i, d := range got {
			serials = append(serials, d.Serial)
			if c := fleet.Cameras()[i]; d.Addr != addrOf(c) || d.Source != SourceScan || !d.Enriched || d.Model != c.Info().Model {
				t.Errorf("scan %s found %+v for camera %+v", prefix, d, c.Info())
			}
		}
		if !slices.Equal(serials, want) {
			t.Errorf("scan %s found %v, want %v", prefix, serials, want)
		}
	}
	if n := len(w.Devices()); n != 3 {
		t.Errorf("%d devices listed after two scans of 3 cameras", n)
	}
	// Told when Run runs: three appearances, and nothing for finding them again.
	startWatcher(t, w)
	testtool.WaitFor(t, 5*time.Second, "three appeared events", func() bool { return len(rec.all()) >= 3 })
	if got := rec.serials(EventAppeared); !slices.Equal(slices.Sorted(slices.Values(got)), want) || len(rec.all()) != 3 {
		t.Errorf("events %+v", rec.all())
	}

	for _, c := range []struct {
		prefix string
		ports  []int
		says   string
	}{
		{"10.0.0.0/15", nil, "prefix larger than /16 (131072 addresses)"},
		{"::/0", nil, "prefix larger than /112"},
		{"127.0.0.1/32", []int{0}, "port 0 out of range"},
		{"127.0.0.1/32", []int{65536}, "port 65536 out of range"},
	} {
		if _, err := w.Scan(t.Context(), netip.MustParsePrefix(c.prefix), c.ports); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Scan(%s, %v): %v, want an error saying %q", c.prefix, c.ports, err, c.says)
		}
	}
	if _, err := w.Scan(t.Context(), netip.Prefix{}, nil); err == nil {
		t.Error("invalid prefix accepted")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.Scan(ctx, netip.MustParsePrefix("127.0.0.0/24"), []int{1}); !errors.Is(err, context.Canceled) {
		t.Errorf("scan with an ended context: %v", err)
	}
}

func TestHostAddrs(t *testing.T) {
	list := func(p string) []string {
		var out []string
		for a := range hostAddrs(netip.MustParsePrefix(p).Masked()) {
			out = append(out, a.String())
		}
		return out
	}
	for p, want := range map[string][]string{
		"127.0.0.1/32":       {"127.0.0.1"},
		"192.0.2.0/31":       {"192.0.2.0", "192.0.2.1"},
		"192.0.2.0/30":       {"192.0.2.1", "192.0.2.2"},
		"192.0.2.9/29":       {"192.0.2.9", "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"},
		"255.255.255.252/30": {"255.255.255.253", "255.255.255.254"},
		"::1/128":            {"::1"},
		"2001:db8::/126":     {"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"},
	} {
		if got := list(p); !slices.Equal(got, want) {
			t.Errorf("hostAddrs(%s) = %v, want %v", p, got, want)
		}
	}
	if n := len(list("10.1.0.0/16")); n != 65534 {
		t.Errorf("a /16 has %d host addresses", n)
	}
}

// Devices added by hand are probed once not seen for GoneAfter; one that stops answering
// is gone, one that answers stays; added again it appears again.
func TestManualDevicesGoneAndBack(t *testing.T) {
	fleet := camsimtest.Start(t, 2)
	rec := &recorder{}
	w, err := New(Config{DisableMDNS: true, SweepInterval: 100 * time.Millisecond, GoneAfter: 300 * time.Millisecond,
		ProbeTimeout: 2 * time.Second, OnEvent: rec.on, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stays, leaves := fleet.Cameras()[0], fleet.Cameras()[1]
	for _, c := range fleet.Cameras() {
		if _, err := w.Add(t.Context(), addrOf(c)); err != nil {
			t.Fatal(err)
		}
	}
	startWatcher(t, w)
	testtool.WaitFor(t, 5*time.Second, "Run to start", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.running
	})
	if err := w.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run at once: %v", err)
	}
	time.Sleep(time.Second) // several rounds of probes, all answered
	if got := rec.serials(EventGone); len(got) != 0 || len(w.Devices()) != 2 {
		t.Fatalf("gone while answering: %v; devices %+v", got, w.Devices())
	}
	firstSeen := w.Devices()[0].FirstSeen
	if last := w.Devices()[0].LastSeen; !last.After(firstSeen) {
		t.Errorf("probes did not refresh LastSeen: first %s, last %s", firstSeen, last)
	}

	leaves.PowerOff()
	testtool.WaitFor(t, 5*time.Second, "the camera that left to be gone", func() bool { return len(rec.serials(EventGone)) == 1 })
	if got := rec.serials(EventGone); got[0] != leaves.Info().Serial {
		t.Errorf("gone: %v", got)
	}
	if got := w.Devices(); len(got) != 1 || got[0].Serial != stays.Info().Serial {
		t.Errorf("devices after one camera went: %+v", got)
	}

	if err := leaves.PowerOn(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(t.Context(), addrOf(leaves)); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 5*time.Second, "the camera to appear again", func() bool { return len(rec.all()) == 4 })
	if last := rec.all()[3]; last.Kind != EventAppeared || last.Device.Serial != leaves.Info().Serial {
		t.Errorf("after adding it again: %+v", last)
	}
}

// A camera that restarts on another port (same state: same serial) and is added at its
// new address is the same device, changed.
func TestManualDeviceMoves(t *testing.T) {
	state := t.TempDir()
	fleet := camsimtest.Start(t, 2, camsimtest.WithState(state))
	rec := &recorder{}
	w, err := New(Config{DisableMDNS: true, OnEvent: rec.on, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	oldAddrs := map[string]string{}
	for _, c := range fleet.Cameras() {
		oldAddrs[c.Info().Serial] = addrOf(c)
		if _, err := w.Add(t.Context(), addrOf(c)); err != nil {
			t.Fatal(err)
		}
	}
	fleet.Close()
	fleet = camsimtest.Start(t, 2, camsimtest.WithState(state))
	for _, c := range fleet.Cameras() {
		d, err := w.Add(t.Context(), addrOf(c))
		if err != nil {
			t.Fatal(err)
		}
		if d.Serial != c.Info().Serial || d.Addr != addrOf(c) {
			t.Errorf("re-added %+v for %+v", d, c.Info())
		}
	}
	if got := w.Devices(); len(got) != 2 {
		t.Fatalf("devices after the restart: %+v", got)
	}
	startWatcher(t, w) // to be told the events
	testtool.WaitFor(t, 5*time.Second, "four events", func() bool { return len(rec.all()) >= 4 })
	for i, e := range rec.all() {
		want := EventAppeared
		if i >= 2 {
			want = EventChanged
		}
		if e.Kind != want || i >= 2 && e.Device.Addr == oldAddrs[e.Device.Serial] {
			t.Errorf("event %d: %+v (was at %s)", i, e, oldAddrs[e.Device.Serial])
		}
	}
}

// A camera that the probe finds answering with another serial is not the device.
func TestProbeChecksSerial(t *testing.T) {
	fleet := camsimtest.Start(t, 1)
	w, err := New(Config{DisableMDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = w.probe(t.Context(), addrOf(fleet.Cameras()[0]), "ACCC8EFFFFFF")
	if err == nil || !strings.Contains(err.Error(), "not ACCC8EFFFFFF") {
		t.Fatalf("probe for another serial: %v", err)
	}
}

// fakeAxis answers getAllUnrestrictedProperties like an Axis device with the firmware
// version in version.
func fakeAxis(t testing.TB, serial string, version *atomic.Value) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/axis-cgi/basicdeviceinfo.cgi" || r.Method != http.MethodPost {
			http.NotFound(rw, r)
			return
		}
		fmt.Fprintf(rw, `{"apiVersion":"1.3","data":{"propertyList":{"Brand":"AXIS","ProdNbr":"M1065-LW","SerialNumber":%q,"Version":%q}}}`,
			serial, version.Load())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A device whose facts change (here a firmware upgrade) is reported changed by the next
// probe.
func TestFactsChangeIsAnEvent(t *testing.T) {
	var version atomic.Value
	version.Store("9.80.1")
	srv := fakeAxis(t, "accc12345678", &version)
	rec := &recorder{}
	w, err := New(Config{DisableMDNS: true, SweepInterval: 50 * time.Millisecond, GoneAfter: 100 * time.Millisecond,
		ProbeTimeout: time.Second, OnEvent: rec.on, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.Add(t.Context(), srv.URL)
	if err != nil || d.Serial != "ACCC12345678" || d.Firmware != "9.80.1" || d.Model != "M1065-LW" {
		t.Fatalf("Add: %+v, %v", d, err)
	}
	startWatcher(t, w)
	testtool.WaitFor(t, 5*time.Second, "a sweep to probe the camera on its old firmware", func() bool {
		ds := w.Devices()
		return len(ds) == 1 && ds[0].LastSeen.After(d.LastSeen)
	})
	version.Store("10.12.250")
	testtool.WaitFor(t, 5*time.Second, "the firmware change to be seen", func() bool { return len(rec.all()) >= 2 })
	ev := rec.all()
	if len(ev) != 2 || ev[0].Kind != EventAppeared || ev[1].Kind != EventChanged || ev[1].Device.Firmware != "10.12.250" ||
		ev[1].Device.Addr != d.Addr {
		t.Errorf("events: %+v", ev)
	}
}

// A probe is asked for by whoever may add a camera by address, who may name a server
// that is not theirs to read: what that server answers stays out of the error.
func TestAddDoesNotEchoTheAnswer(t *testing.T) {
	const secret = "SECRET-7f3a-metadata-token"
	for name, h := range map[string]http.HandlerFunc{
		"error status": func(rw http.ResponseWriter, r *http.Request) {
			http.Error(rw, secret, http.StatusInternalServerError)
		},
		"text": func(rw http.ResponseWriter, r *http.Request) { fmt.Fprint(rw, secret) },
		"json error": func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, `{"apiVersion":"1.3","error":{"code":1,"message":%q}}`, secret)
		},
		"serial": func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, `{"apiVersion":"1.3","data":{"propertyList":{"SerialNumber":%q}}}`, secret)
		},
		"data": func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, `{"apiVersion":"1.3","data":{"propertyList":%q}}`, secret)
		},
	} {
		srv := httptest.NewServer(h)
		w, err := New(Config{DisableMDNS: true, ProbeTimeout: time.Second, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Add(t.Context(), srv.URL)
		srv.Close()
		if !errors.Is(err, ErrNotAxis) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// DialControl sees the resolved address of every probe; a refused one fails with
// ErrRefused and the reason, and nothing reaches the server.
func TestAddRefusedByDialControl(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	var seen []string
	w, err := New(Config{DisableMDNS: true, ProbeTimeout: time.Second, Logger: testLogger(t),
		DialControl: func(network, address string, _ syscall.RawConn) error {
			seen = append(seen, address)
			return errors.New("address " + address + " is not for devices")
		}})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	_, err = w.Add(t.Context(), "localhost"+port)
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "is not for devices") || hits.Load() != 0 {
		t.Fatalf("Add(localhost%s): %v, %d requests reached the server", port, err, hits.Load())
	}
	for _, a := range seen {
		if !strings.HasPrefix(a, "127.0.0.1:") && !strings.HasPrefix(a, "[::1]:") {
			t.Errorf("DialControl saw %q, not a resolved address", a)
		}
	}
	t.Logf("refused: %v", err)
}
