package server

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/relay/store/storetest"
)

// A profile that targets "latest" on its track reaches each agent resolved for each
// device: the newest release the catalog holds for the device's model on that track,
// and no version at all for a device already at it or newer (never a downgrade).
func TestDeviceConfigResolvesLatestOS(t *testing.T) {
	ctx := context.Background()
	devices := map[string][2]string{ // serial: model, running
		"ACCC8E000001": {"P3265-V", "12.11.60"},
		"ACCC8E000002": {"P3265-V", "12.11.95"},
		"ACCC8E000003": {"M5075-G", "12.11.60"},
	}
	var reports []linkapi.DeviceReport
	for serial, d := range devices {
		reports = append(reports, linkapi.DeviceReport{Serial: serial, Model: d[0], FirmwareVersion: d[1], Reachable: true})
	}
	o := storetest.NewOrg(t, reports...)
	st := o.Store
	if err := st.PutProfile(ctx, o.Org, profile.Profile{Name: "newest", OSTrack: profile.TrackActive, OSVersion: profile.LatestOS}, true); err != nil {
		t.Fatal(err)
	}
	for serial := range devices {
		if _, err := st.UpdateDevice(ctx, o.Org, serial, func(d *store.Device) error { d.Profile = "newest"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range []store.Release{
		{Kind: store.ReleaseOS, Version: "12.11.80", Products: []string{"P3265-V"}},
		{Kind: store.ReleaseOS, Version: "12.11.77", Products: []string{"P3265-V"}},
		{Kind: store.ReleaseOS, Version: "11.11.130", Products: []string{"P3265-V"}},
		{Kind: store.ReleaseOS, Version: "12.11.99", Products: []string{"Q6135-LE"}},
	} {
		r.SHA256, r.Size = strings.Repeat(string(rune('0'+i)), 64), 1
		if _, err := st.AddRelease(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	l, err := newAgentLinks(ctx, linksConfig{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.close() })
	cfgs, err := l.deviceConfigs(ctx, o.Org, o.Host)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ACCC8E000001": "12.11.80", "ACCC8E000002": "", "ACCC8E000003": ""}
	if len(cfgs) != len(want) {
		t.Fatalf("%d configurations, want %d", len(cfgs), len(want))
	}
	for _, c := range cfgs {
		if got := c.Profile.OSVersion; got != want[c.Serial] {
			t.Errorf("%s (%v): profile osVersion %q, want %q", c.Serial, devices[c.Serial], got, want[c.Serial])
		}
	}
}
