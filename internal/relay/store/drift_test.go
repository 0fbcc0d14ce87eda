package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/profile"
)

// A report with one drift entry per login session (as agents sent them) is stored as one
// entry per cause and detail, with the count and first and last session, and the mode
// switch names it once.
func TestDriftStoredOncePerCause(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	h := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site", [32]byte{1}, c.Now().Add(time.Hour)))
	const serial = "ACCC8E000001"
	must[Device](t)(s.OnboardDevice(ctx, org.ID, h.ID, serial, u.ID))
	c.Add(time.Minute)
	var drift []profile.Drift
	for i := range 5 {
		at := c.Now().Add(time.Duration(i) * time.Second)
		drift = append(drift, profile.Drift{Cause: profile.DriftLocalAdminUsed, Detail: "local admin account root logged in from 192.0.2.7",
			FirstSeen: at, LastSeen: at, Count: 1})
	}
	must[ReportResult](t)(s.ReportDevices(ctx, org.ID, h.ID, []linkapi.DeviceReport{{Serial: serial, Reachable: true, Drift: drift}}))
	d := must[Device](t)(s.Device(ctx, org.ID, serial))
	if len(d.Drift) != 1 {
		t.Fatalf("drift stored: %+v, want one entry", d.Drift)
	}
	if got := d.Drift[0]; got.Count != 5 || !got.FirstSeen.Equal(drift[0].FirstSeen) || !got.LastSeen.Equal(drift[4].LastSeen) {
		t.Errorf("drift entry %+v, want count 5 from the first session to the last", got)
	}
	last := d.ModeHistory[len(d.ModeHistory)-1]
	if last.To != ModeConnected || strings.Count(last.Reason, profile.DriftLocalAdminUsed) != 1 || !strings.Contains(last.Reason, "5 times") {
		t.Errorf("mode switch %+v, want one reason, five times", last)
	}
}
