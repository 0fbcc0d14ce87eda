package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/pki"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/server"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// TestRunStopsEverything starts and stops a relay and checks that Run returns nil and
// leaves no goroutine behind.
func TestRunStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	srv, err := server.New(server.Config{DataDir: dir, Listen: "127.0.0.1:0", AdminPassword: "leak-check-pw", PasswordParams: relaytest.FastParams})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	<-srv.Ready()
	client := relaytest.TrustingClient(t, filepath.Join(dir, pki.CAFile))
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()

	// A second relay on the same directory refuses clearly.
	second, _ := server.New(server.Config{DataDir: dir, Listen: "127.0.0.1:0", AdminPassword: "leak-check-pw"})
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := second.Run(context.Background(), ln2); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second relay on one directory: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	testtool.WaitFor(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestExternalCertificate(t *testing.T) {
	// Make a certificate with another CA, as an operator with their own PKI would.
	other := t.TempDir()
	ca, _, err := pki.LoadOrCreateCA(other, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.ServerCert(other, []string{"relay.test"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := relaytest.Start(t, func(c *server.Config) {
		c.TLSCert, c.TLSKey = filepath.Join(other, pki.ServerFile), filepath.Join(other, pki.ServerKeyFile)
	})
	// The relay's own CA does not sign what it serves now; the operator's does.
	if _, err := r.Client.Get(r.URL + "/healthz"); err == nil {
		t.Error("served the generated certificate despite --tls-cert")
	}
	client := relaytest.TrustingClient(t, filepath.Join(other, pki.CAFile))
	resp, err := client.Get(r.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The relay still has its CA, for agents.
	if _, err := os.Stat(filepath.Join(r.DataDir, pki.CAFile)); err != nil {
		t.Errorf("no agent CA: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"no data dir", server.Config{}, "--data"},
		{"insecure on all interfaces", server.Config{DataDir: "d", InsecureHTTP: true, Listen: ":8080"}, "loopback"},
		{"insecure on a LAN address", server.Config{DataDir: "d", InsecureHTTP: true, Listen: "10.0.0.1:80"}, "loopback"},
		{"half a key pair", server.Config{DataDir: "d", TLSKey: "k.pem"}, "go together"},
		{"weak admin password", server.Config{DataDir: "d", AdminPassword: "x"}, "RELAY_ADMIN_PASSWORD"},
	}
	for _, c := range cases {
		_, err := server.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := server.New(server.Config{DataDir: "d", InsecureHTTP: true, Listen: "localhost:0"}); err != nil {
		t.Errorf("insecure on localhost: %v", err)
	}
	var sentinel = server.ErrInsecureNotLoopback
	_, err := server.New(server.Config{DataDir: "d", InsecureHTTP: true, Listen: "[::]:1"})
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(ErrInsecureNotLoopback): %v", err)
	}
}

// TestAgentCertificateAccepted checks the TLS setup the link step relies on: a client
// certificate issued by the relay's CA is verified and visible to handlers, and people
// without one still connect.
func TestAgentCertificateAccepted(t *testing.T) {
	r := relaytest.Start(t)
	cert := r.AgentCert(t, "org_test", "eh_test")
	tr := r.Client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(r.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.StatusCode != 200 {
		t.Fatalf("healthz with an agent certificate: %v", resp.Status)
	}
}
