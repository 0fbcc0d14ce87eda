// Package storetest makes relay stores for the tests of the packages that use one
// directly (the task manager, the agent links): a store in a temporary directory with
// an organization, its admin and an edge host whose devices are onboarded.
package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// Org is an organization in a store of its own.
type Org struct {
	Store *store.Store
	// User is the organization's admin, Org the organization and Host its edge host (IDs).
	User, Org, Host string
}

// NewOrg opens a store in t.TempDir() that is closed when the test ends, without fsync
// (tests make thousands of records), with an organization "A", its admin and an edge
// host "site", and onboards the devices at that host as it reports them.
func NewOrg(t testing.TB, devices ...linkapi.DeviceReport) Org {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "relay.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateUser(ctx, "a@example.com", "h")
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOrg(ctx, "A", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.CreateEdgeHost(ctx, o.ID, "site", [32]byte{1}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if _, err := st.OnboardDevice(ctx, o.ID, h.ID, d.Serial, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(devices) > 0 {
		if _, err := st.ReportDevices(ctx, o.ID, h.ID, devices); err != nil {
			t.Fatal(err)
		}
	}
	return Org{Store: st, User: u.ID, Org: o.ID, Host: h.ID}
}

// Reachable is a report of each serial as a reachable device and nothing more.
func Reachable(serials ...string) []linkapi.DeviceReport {
	out := make([]linkapi.DeviceReport, len(serials))
	for i, s := range serials {
		out[i] = linkapi.DeviceReport{Serial: s, Reachable: true}
	}
	return out
}
