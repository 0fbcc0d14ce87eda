package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Stopping the local API lets a request under way finish, and serve returns only once
// the server has shut down: nothing of it outlives the edge host's Run.
func TestLocalAPIStopsCleanly(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
	dir := t.TempDir()
	l, err := listenLocalAPI("127.0.0.1:0", filepath.Join(dir, graphTokenFile), slow)
	if err != nil {
		t.Fatal(err)
	}
	token, err := loadOrCreateToken(filepath.Join(dir, graphTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.serve(ctx) }()

	answered := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+l.addr()+"/graphql", strings.NewReader(`{"query":"{}"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- string(b)
	}()
	<-entered
	stop()
	select {
	case err := <-served:
		t.Fatalf("serve returned (%v) while a request was under way", err)
	case <-time.After(50 * time.Millisecond): // a spell in which an early return would show
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("serve after a stop: %v", err)
	}
	if got := <-answered; got != `{"data":{}}` {
		t.Fatalf("the request under way got %q", got)
	}
	if c, err := net.Dial("tcp", l.addr()); err == nil {
		c.Close()
		t.Fatal("the local API still accepts connections after serve returned")
	}
}
