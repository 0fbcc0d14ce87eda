package edgelink

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A handler that the link's end cuts short and that returns without answering (as a
// reverse proxy's error handler does for a cancelled request) must not have net/http
// finish its answer as an empty 200: while the stream is still writable, the peer would
// read that as a success. Here the link's end is a context the test cancels, and the
// stream a plain HTTP connection that stays up, so the outcome does not depend on which
// of the two gets there first.
func TestHandlerCutShortByTheLinkAnswersNothing(t *testing.T) {
	linkCtx, endLink := context.WithCancel(context.Background())
	defer endLink()
	srv := httptest.NewServer(endsWithLink(linkCtx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/done-before" {
			_, _ = io.WriteString(w, "complete")
			return
		}
		endLink()
	})))
	defer srv.Close()

	// A handler that answered while the link was up is unaffected.
	res, err := srv.Client().Get(srv.URL + "/done-before")
	if err != nil {
		t.Fatalf("answer made while the link was up: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || string(b) != "complete" {
		t.Fatalf("answer made while the link was up: %d %q %v", res.StatusCode, b, err)
	}

	res, err = srv.Client().Get(srv.URL + "/cut-short")
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("a handler cut short by the link's end answered %d %q; the peer must see the answer break off", res.StatusCode, b)
	}
}

// End to end: the agent stops while the relay waits for a handler's answer. Whichever
// comes first, the session's close or the handler's return, the relay's caller gets an
// error, never a success.
func TestAgentStoppedMidRequestIsNoSuccess(t *testing.T) {
	testConnTypes(t, func(t *testing.T, kind connKind) {
		entered := make(chan struct{}, 1)
		e := startLink(t, kind, linkOptions{agentHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-r.Context().Done() // as a device request cancelled with the link
		})})
		e.waitConnected()
		type result struct {
			res *http.Response
			err error
		}
		done := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, e.agentURL("/slow"), nil)
			res, err := e.relayClient().Do(req)
			if err == nil {
				_, err = io.ReadAll(res.Body)
				res.Body.Close()
			}
			done <- result{res, err}
		}()
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the request did not reach the agent's handler")
		}
		e.stopAgent()
		select {
		case r := <-done:
			if r.err == nil && r.res.StatusCode < 300 {
				t.Fatalf("the caller got %d for a request whose agent stopped before answering", r.res.StatusCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the caller still waits 10 s after the agent stopped")
		}
	})
}
