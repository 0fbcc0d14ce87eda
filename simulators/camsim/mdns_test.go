package camsim_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

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
