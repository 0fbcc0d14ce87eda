package camsim

import (
	"regexp"
	"strings"
	"testing"
)

func TestIdentity(t *testing.T) {
	serialRE := regexp.MustCompile(`^ACCC8E[0-9A-F]{6}$`)
	oakRE := regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)
	seen := map[string]bool{}
	for i := range 2000 {
		id := NewIdentity(i, 0)
		if !serialRE.MatchString(id.Serial) {
			t.Fatalf("serial %q is not 12 upper-case hex digits under the Axis prefix", id.Serial)
		}
		if seen[id.Serial] {
			t.Fatalf("serial %q allocated twice", id.Serial)
		}
		seen[id.Serial] = true
		if strings.ReplaceAll(id.MAC(), ":", "") != id.Serial {
			t.Fatalf("MAC %q does not match serial %q", id.MAC(), id.Serial)
		}
		if !oakRE.MatchString(id.OAK) {
			t.Fatalf("OAK %q has the wrong form", id.OAK)
		}
	}
	a, b := NewIdentity(7, 0), NewIdentity(7, 0)
	if a.Serial != b.Serial || a.OAK != b.OAK || a.Model.ProdNbr != b.Model.ProdNbr {
		t.Fatal("the same index must give the same identity, so a restarted fleet has the same cameras")
	}
	if NewIdentity(0, 100).Serial == NewIdentity(0, 0).Serial {
		t.Fatal("serial offset must shift the serials")
	}
	if got := NewIdentity(0, 0); got.Realm() != "AXIS_"+got.Serial || got.HostName() != "axis-"+strings.ToLower(got.Serial) {
		t.Fatalf("realm %q / host name %q not derived from the serial", got.Realm(), got.HostName())
	}
}

func TestConfigValidation(t *testing.T) {
	bad := Config{Count: -1, Listen: "nohostport", RebootDelay: -1}
	err := bad.setDefaults()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"count", "listen", "reboot delay"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q (every bad field is reported at once)", err, want)
		}
	}
	ok := Config{Count: 3, Listen: "127.0.0.1:9000"}
	if err := ok.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if ok.RTSPListen != "127.0.0.1:9003" {
		t.Errorf("RTSP ports default to after the HTTP ports: got %q", ok.RTSPListen)
	}
	if got := addrAt("127.0.0.1:9000", 2); got != "127.0.0.1:9002" {
		t.Errorf("camera 2 of a fleet at :9000 listens on %q", got)
	}
}
