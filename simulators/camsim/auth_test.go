package camsim

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// authServer serves 200 "ok" to requests digestAuth accepts and a challenge otherwise,
// counting the round trips, so the auth layer is tested on its own over real HTTP.
func authServer(t *testing.T, d *digestAuth) (*httptest.Server, *int) {
	t.Helper()
	users := map[string]User{"root": {Name: "root", Password: "pass", Groups: []string{"admin"}}}
	lookup := func(n string) (User, bool) { u, ok := users[n]; return u, ok }
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		switch _, res := d.Verify(r, lookup); res {
		case authOK:
			io.WriteString(w, "ok")
		default:
			w.Header().Set("WWW-Authenticate", d.Challenge(res == authStale))
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDigestChallengeForm(t *testing.T) {
	d := newDigestAuth("AXIS_ACCC8E010000")
	// Parameter order and quoting as recorded from AXIS OS 12.11 (vapix.md 1.1).
	re := regexp.MustCompile(`^Digest realm="AXIS_ACCC8E010000", nonce="[A-Za-z0-9+/]{11}=[0-9a-f]{40}", algorithm=MD5, qop="auth"$`)
	if c := d.Challenge(false); !re.MatchString(c) {
		t.Fatalf("challenge %q does not have the Axis form", c)
	}
	if c := d.Challenge(true); !strings.HasSuffix(c, ", stale=true") {
		t.Fatalf("stale challenge %q lacks stale=true", c)
	}
}

func TestDigestClientReusesNonce(t *testing.T) {
	d := newDigestAuth("AXIS_ACCC8E010000")
	srv, hits := authServer(t, d)
	client := &http.Client{Transport: &digest.Transport{Username: "root", Password: "pass"}}
	for i := range 10 {
		resp, err := client.Get(srv.URL + fmt.Sprintf("/axis-cgi/param.cgi?action=list&n=%d", i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	// One extra round trip for the first challenge, none after: the nonce is reused with
	// an increasing count.
	if *hits != 11 {
		t.Fatalf("10 requests took %d round trips, want 11", *hits)
	}
}

func TestDigestRefusals(t *testing.T) {
	d := newDigestAuth("AXIS_ACCC8E010000")
	srv, _ := authServer(t, d)
	get := func(rt http.RoundTripper, path string) int {
		t.Helper()
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(&digest.Transport{Username: "root", Password: "wrong"}, "/x"); s != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", s)
	}
	if s := get(&digest.Transport{Username: "nobody", Password: "pass"}, "/x"); s != http.StatusUnauthorized {
		t.Errorf("unknown user: status %d, want 401", s)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	req.SetBasicAuth("root", "pass")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic over HTTP: status %d, want 401", resp.StatusCode)
	}
}

func TestDigestRejectsReplayAndWrongURI(t *testing.T) {
	d := newDigestAuth("AXIS_ACCC8E010000")
	srv, _ := authServer(t, d)
	chal, err := digest.ParseChallenge(d.Challenge(false))
	if err != nil {
		t.Fatal(err)
	}
	do := func(uri string, cred *digest.Credentials) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+uri, nil)
		req.Header.Set("Authorization", cred.String())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "GET", URI: "/a?b=1", Username: "root", Password: "pass", Cnonce: "abc", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s := do("/a?b=1", cred); s != http.StatusOK {
		t.Fatalf("first use: %d, want 200", s)
	}
	if s := do("/a?b=1", cred); s != http.StatusUnauthorized {
		t.Errorf("replayed nonce count: %d, want 401", s)
	}
	cred2, _ := digest.Digest(chal, digest.Options{Method: "GET", URI: "/a?b=1", Username: "root", Password: "pass", Cnonce: "abc", Count: 2})
	if s := do("/a?b=2", cred2); s != http.StatusUnauthorized {
		t.Errorf("uri that does not match the request: %d, want 401", s)
	}
	forged := *chal
	forged.Nonce = strings.Repeat("A", 11) + "=" + strings.Repeat("0", 40)
	cred3, _ := digest.Digest(&forged, digest.Options{Method: "GET", URI: "/a", Username: "root", Password: "pass", Cnonce: "abc", Count: 1})
	if s := do("/a", cred3); s != http.StatusUnauthorized {
		t.Errorf("nonce the camera never issued: %d, want 401", s)
	}
}

func TestDigestStaleNonce(t *testing.T) {
	d := newDigestAuth("AXIS_ACCC8E010000")
	now := time.Now()
	d.now = func() time.Time { return now }
	srv, hits := authServer(t, d)
	client := &http.Client{Transport: &digest.Transport{Username: "root", Password: "pass"}}
	get := func() {
		t.Helper()
		resp, err := client.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	before := *hits
	now = now.Add(nonceLifetime + time.Second)
	// The client's cached nonce has expired: the camera answers 401 stale=true and the
	// client retries once with the fresh nonce.
	get()
	if got := *hits - before; got != 2 {
		t.Fatalf("request after nonce expiry took %d round trips, want 2", got)
	}
}

func TestNonceCountWindow(t *testing.T) {
	var w ncWindow
	for _, nc := range []uint32{1, 3, 2, 10, 5} {
		if !w.accept(nc) {
			t.Fatalf("count %d refused: out-of-order counts from concurrent requests must pass once", nc)
		}
	}
	for _, nc := range []uint32{1, 3, 10} {
		if w.accept(nc) {
			t.Fatalf("count %d accepted twice", nc)
		}
	}
	if !w.accept(5000) || w.accept(30) {
		t.Fatal("a count further below the highest than the window must be refused")
	}
	if !w.accept(4999) || w.accept(4999) {
		t.Fatal("a count inside the window is accepted exactly once")
	}
}
