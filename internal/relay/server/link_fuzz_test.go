package server

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// linkSession is an agent's side of a link to agentLinks, without the WebSocket and TLS
// (pkg/edgelink tests those): a yamux client over a pipe whose other end the relay serves.
type linkSession struct {
	ymx *yamux.Session
}

func (s *linkSession) do(t testing.TB, method, path string, body []byte) int {
	t.Helper()
	st, err := s.ymx.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest(method, "http://relay"+path, bytes.NewReader(body))
	if err := req.Write(st); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func startLinkSession(t testing.TB) *linkSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(filepath.Join(t.TempDir(), "relay.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.CreateUser(ctx, "a@example.com", "h")
	org, _ := st.CreateOrg(ctx, "A", u.ID)
	token, hash := auth.NewSecret(auth.PrefixEnrollmentToken)
	h, err := st.CreateEdgeHost(ctx, org.ID, "site", hash, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ConsumeEnrollmentToken(ctx, token); err != nil { // enrolled: the relay serves it
		t.Fatal(err)
	}
	l, err := newAgentLinks(ctx, linksConfig{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l.orgs.Store(h.ID, org.ID)
	relayEnd, agentEnd := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); _ = l.relay.Accept(ctx, h.ID, relayEnd) }()
	ymx, err := yamux.Client(agentEnd, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ymx.Close()
		cancel()
		<-done
		_ = l.close()
		st.Close()
	})
	return &linkSession{ymx: ymx}
}

// FuzzLinkReports sends arbitrary bodies to every report the relay takes on an agent's
// link: each is recorded (2xx) or refused (400), never a server error, and the link keeps
// serving.
func FuzzLinkReports(f *testing.F) {
	f.Add(0, []byte(`[{"serial":"ACCC8E000001","reachable":true,"firmwareVersion":"11.11.124","drift":[{"cause":"unexpected-app","detail":"x"}]}]`))
	f.Add(1, []byte(`[{"serial":"ACCC8E000001","address":"10.0.0.5:80","source":"mdns","firstSeen":"2026-11-26T10:00:00Z","lastSeen":"2026-11-26T10:00:00Z","onboarded":false}]`))
	f.Add(2, []byte(`[{"id":"tsk_1","kind":"onboard","serial":"ACCC8E000001","state":"queued","transitions":[{"state":"queued","at":"2026-11-26T10:00:00Z"}]}]`))
	f.Add(0, []byte(`{"not":"an array"}`))
	f.Add(2, []byte(`[{"id":"a/b"}]`))
	f.Add(1, []byte("\x00\xff garbage"))
	s := startLinkSession(f)
	paths := []string{linkapi.InventoryPath, linkapi.DiscoveredPath, linkapi.TasksPath}
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		path := paths[(which%len(paths)+len(paths))%len(paths)]
		code := s.do(t, http.MethodPost, path, body)
		if code/100 != 2 && code != http.StatusBadRequest {
			t.Fatalf("POST %s %q: status %d, want 2xx or 400", path, body, code)
		}
		if code := s.do(t, http.MethodGet, linkapi.ConfigPath, nil); code != http.StatusOK {
			t.Fatalf("the link stopped serving after POST %s %q: %d", path, body, code)
		}
	})
}

// An agent newer than its relay may report fields the relay does not know yet: the
// report is taken, the unknown fields ignored.
func TestLinkReportsIgnoreUnknownFields(t *testing.T) {
	s := startLinkSession(t)
	body := []byte(`[{"serial":"ACCC8E000001","reachable":true,"firmwareVersion":"11.11.124","fromTheFuture":{"x":1}}]`)
	if got := s.do(t, http.MethodPost, linkapi.InventoryPath, body); got != http.StatusOK {
		t.Fatalf("inventory with an unknown field: %d, want 200", got)
	}
}
