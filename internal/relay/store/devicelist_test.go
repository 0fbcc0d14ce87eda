package store

import (
	"context"
	"fmt"
	"testing"
)

// TestDeviceListSeesEveryWrite: a list read again after a change, a deletion or a new
// device shows the inventory as it now is, though the devices of the first read are
// remembered.
func TestDeviceListSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	for i := range 3 {
		must[Device](t)(s.RegisterDevice(ctx, Device{Org: "org_a", Serial: fmt.Sprintf("ACCC8E00000%d", i), Name: "old"}))
	}
	list := func() string {
		t.Helper()
		ds, _, err := s.ListDevices(ctx, "org_a", DeviceFilter{}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, d := range ds {
			out += d.Serial + "=" + d.Name + " "
		}
		return out
	}
	if got := list(); got != "ACCC8E000000=old ACCC8E000001=old ACCC8E000002=old " {
		t.Fatalf("first read: %s", got)
	}
	must[Device](t)(s.UpdateDevice(ctx, "org_a", "ACCC8E000001", func(d *Device) error { d.Name = "new"; return nil }))
	must[Device](t)(s.DeleteDevice(ctx, "org_a", "ACCC8E000002"))
	must[Device](t)(s.RegisterDevice(ctx, Device{Org: "org_a", Serial: "ACCC8E000003", Name: "added"}))
	if got := list(); got != "ACCC8E000000=old ACCC8E000001=new ACCC8E000003=added " {
		t.Errorf("after the writes: %s", got)
	}
}

// BenchmarkListDevices10k reads an inventory of 10,000 devices in one page, as the
// console does. The baseline decodes every stored device, as the list did before it
// kept what it decoded.
func BenchmarkListDevices10k(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir()+"/relay.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10000
	models := []string{"P3265-V", "Q6135-LE", "M3106-L Mk II", "P1468-LE"}
	for i := range n {
		if _, err := s.RegisterDevice(ctx, Device{Org: "org_a", Serial: fmt.Sprintf("ACCC8E%06X", i), Model: models[i%len(models)]}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if ds, _, err := s.ListDevices(ctx, "org_a", DeviceFilter{}, "", n); err != nil || len(ds) != n {
				b.Fatal(len(ds), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/device")
	})
	b.Run("decoded", func(b *testing.B) {
		for b.Loop() {
			s.devices = newDecodeCache[Device](1) // nothing kept from one device to the next
			if ds, _, err := s.ListDevices(ctx, "org_a", DeviceFilter{}, "", n); err != nil || len(ds) != n {
				b.Fatal(len(ds), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/device")
	})
}
