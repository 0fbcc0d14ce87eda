package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/graph"
)

// localAPI serves the edge host's GraphQL API on the host's network for an on-premise
// VMS, to callers that hold the token in the data directory (they get the admin role).
type localAPI struct {
	ln  net.Listener
	srv *http.Server
}

func listenLocalAPI(addr, tokenPath string, api http.Handler) (*localAPI, error) {
	token, err := loadOrCreateToken(tokenPath)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--graphql-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgehost"`)
			http.Error(w, "send the token of the edge host's data directory (graphql-token) as a bearer token", http.StatusUnauthorized)
			return
		}
		api.ServeHTTP(w, r.WithContext(graph.WithAdmin(r.Context())))
	})
	return &localAPI{ln: ln, srv: &http.Server{Handler: http.MaxBytesHandler(mux, 1<<20), ReadHeaderTimeout: 10 * time.Second}}, nil
}

func (l *localAPI) addr() string { return l.ln.Addr().String() }

// serve serves until ctx is done, then shuts the server down (letting requests under
// way finish, for a few seconds at most) and returns once it has.
func (l *localAPI) serve(ctx context.Context) error {
	served := make(chan struct{}) // closed by serve when Serve returned
	shutDown := make(chan struct{})
	go func() { // owned by serve, which waits for it
		defer close(shutDown)
		select {
		case <-ctx.Done():
		case <-served: // Serve failed on its own: nothing to shut down
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.srv.Shutdown(sctx)
	}()
	err := l.srv.Serve(l.ln)
	close(served)
	<-shutDown
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("local GraphQL API: %w", err)
	}
	return nil
}

// loadOrCreateToken reads the token file, creating it with a random token. The file
// gives admin access to the agent's API: it is made private (0600) whatever mode an
// older or restored copy had.
func loadOrCreateToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("GraphQL token: %w", err)
			}
			return t, nil
		}
	}
	t := rand.Text()
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("GraphQL token: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return "", fmt.Errorf("GraphQL token: %w", err)
	}
	return t, nil
}
