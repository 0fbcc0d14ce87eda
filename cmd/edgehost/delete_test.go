package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// A deleted edge host loses its live link at once, and is not admitted again: it does
// not keep reporting until it happens to reconnect.
func TestDeletedEdgeHostLinkEnds(t *testing.T) {
	r := relaytest.Start(t)
	_, id := enrolled(t, r)
	cert, err := id.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(id.CAPEM)
	a, err := edgelink.NewAgent(edgelink.AgentConfig{
		RelayURL:  "wss://" + strings.TrimPrefix(r.URL, "https://") + "/api/v1/agent/link",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := a.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	first := a.Status().ConnectedAt

	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	if res := r.Do(t, http.MethodDelete, "/api/v1/orgs/"+id.Org+"/edgehosts/"+id.AgentID, tok, nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	onOldLink := func() bool {
		st := a.Status()
		return st.State == edgelink.StateConnected && st.ConnectedAt.Equal(first)
	}
	defer func() { // also when WaitFor gives up
		if onOldLink() {
			// Still on the link it had before being deleted: show what it can still do.
			rep := []linkapi.TaskReport{{ID: "planted-by-deleted-host"}}
			err := linkapi.Call(ctx, a.Client(), http.MethodPost, "http://relay"+linkapi.TasksPath, rep, nil)
			_, terr := r.Store.Task(context.Background(), id.Org, "planted-by-deleted-host")
			t.Errorf("after DELETE the edge host still has its link (up since %v); task report: %v; task stored: %v",
				first.Format(time.TimeOnly), err, terr == nil)
		}
	}()
	testtool.WaitFor(t, 5*time.Second, "the deleted edge host to lose its link", func() bool { return !onOldLink() })
	// It tries to come back (the first failure is the link that ended) and is refused.
	testtool.WaitFor(t, 10*time.Second, "two refused reconnect attempts", func() bool { return a.Status().Failures >= 3 })
	if st := a.Status(); st.State == edgelink.StateConnected {
		t.Errorf("the deleted edge host was admitted again: %+v", st)
	}
}

// hasAccount reports whether the camera has an account named user (listed with its
// admin account).
func hasAccount(t testing.TB, cam *camsim.Camera, user string) bool {
	t.Helper()
	c, err := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	groups, err := c.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, users := range groups {
		if slices.Contains(users, user) {
			return true
		}
	}
	return false
}

// reportedAt is when the relay last took the edge host's inventory report.
func (ro *rollout) reportedAt(t testing.TB) time.Time {
	t.Helper()
	var h struct{ ReportedAt time.Time }
	ro.r.Do(t, http.MethodGet, ro.orgPath("/edgehosts/"+ro.id.AgentID), ro.token, nil).JSON(t, &h)
	return h.ReportedAt
}

// waitReports waits until the edge host has reported its inventory twice after now: a
// deleted device that was coming back would be back by then.
func (ro *rollout) waitReports(t testing.TB, after time.Time) {
	t.Helper()
	for range 2 {
		testtool.WaitFor(t, 20*time.Second, "an inventory report of the edge host", func() bool {
			at := ro.reportedAt(t)
			if at.After(after) {
				after = at
				return true
			}
			return false
		})
	}
}

// A deleted device stays deleted: the edge host is told to forget it, removes its own
// account from the camera and stops reporting it; when it was offline at the deletion,
// its next report learns it, and its reports bring nothing back meanwhile. Then the
// device can be onboarded again.
func TestDeletedDeviceStaysDeleted(t *testing.T) {
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	cam := ro.fleet.Cameras()[0]
	serial := cam.Info().Serial
	devicePath := ro.orgPath("/devices/" + serial)
	if !hasAccount(t, cam, "camcloud") {
		t.Fatal("the onboarded camera has no agent account")
	}
	gone := func(t *testing.T) {
		t.Helper()
		if res := ro.r.Do(t, http.MethodGet, devicePath, ro.token, nil); res.Status != http.StatusNotFound {
			t.Fatalf("the deleted device is back: %d %s", res.Status, res.Body)
		}
		if hasAccount(t, cam, "camcloud") {
			t.Error("the agent's account is still on the camera")
		}
		var found listOf[discoveredJSON]
		ro.r.Do(t, http.MethodGet, ro.orgPath("/edgehosts/"+ro.id.AgentID+"/discovered"), ro.token, nil).JSON(t, &found)
		if len(found.Items) != 1 || found.Items[0].Serial != serial {
			t.Errorf("the deleted device is not listed as discovered: %+v", found.Items)
		}
	}

	t.Run("agent online", func(t *testing.T) {
		if res := ro.r.Do(t, http.MethodDelete, devicePath, ro.token, nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		ro.waitReports(t, ro.reportedAt(t))
		gone(t)
	})

	t.Run("onboarded again", func(t *testing.T) { ro.onboardAll(t) })

	t.Run("agent offline", func(t *testing.T) {
		ro.stop()
		if res := ro.r.Do(t, http.MethodDelete, devicePath, ro.token, nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		if !hasAccount(t, cam, "camcloud") {
			t.Fatal("the account went while the agent was offline") // else the check below proves nothing
		}
		since := ro.reportedAt(t)
		ro.runEdgeHostFlags(t, ro.runFlags())
		ro.waitReports(t, since)
		gone(t)
		ro.onboardAll(t)
	})
}
