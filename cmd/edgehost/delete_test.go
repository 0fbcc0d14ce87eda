package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
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
	deadline := time.Now().Add(5 * time.Second)
	for a.Status().State == edgelink.StateConnected && a.Status().ConnectedAt.Equal(first) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := a.Status(); st.State == edgelink.StateConnected && st.ConnectedAt.Equal(first) {
		// Still on the link it had before being deleted: show what it can still do.
		rep := []linkapi.TaskReport{{ID: "planted-by-deleted-host"}}
		err := linkapi.Call(ctx, a.Client(), http.MethodPost, "http://relay"+linkapi.TasksPath, rep, nil)
		_, terr := r.Store.Task(context.Background(), id.Org, "planted-by-deleted-host")
		t.Fatalf("5 s after DELETE the edge host still has its link (up since %v); task report: %v; task stored: %v",
			first.Format(time.TimeOnly), err, terr == nil)
	}
	time.Sleep(500 * time.Millisecond) // a few reconnect attempts (backoff starts at 250 ms)
	if st := a.Status(); st.State == edgelink.StateConnected {
		t.Errorf("the deleted edge host was admitted again: %+v", st)
	}
}
