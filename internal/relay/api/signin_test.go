package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// tokenFrom posts a token request from the given local loopback address (127.0.0.x),
// so tests can act as distinct sources.
func tokenFrom(t *testing.T, r *relaytest.Relay, from string, form url.Values) *relaytest.Response {
	t.Helper()
	c := r.Client
	if from != "" {
		base := r.Client.Transport.(*http.Transport).Clone()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
		t.Cleanup(base.CloseIdleConnections)
		c = &http.Client{Transport: base, Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(t.Context(), "POST", r.URL+"/api/v1/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &relaytest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

func passwordForm(user, pw string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
}

// retryAfter checks that res is a too-many-attempts answer and returns its Retry-After.
func retryAfter(t *testing.T, res *relaytest.Response) time.Duration {
	t.Helper()
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", res.Status, res.Body)
	}
	p := checkProblem(t, res, http.StatusTooManyRequests)
	if p.Type != problem.TooManyAttempts.URI {
		t.Errorf("problem %+v", p)
	}
	s, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
}

// TestPasswordGuessingIsSlowedDown guesses the first admin's password from one address:
// after the free failures every attempt is refused with 429 and Retry-After without
// checking the password (the right one is refused alike), the wait grows but stays
// short, and after it the real user signs in.
func TestPasswordGuessingIsSlowedDown(t *testing.T) {
	r := relaytest.Start(t)
	wrong := passwordForm(relaytest.AdminEmail, "wrong-guess")
	right := passwordForm(relaytest.AdminEmail, relaytest.AdminPassword)
	var guesses int
	for ; guesses < 50; guesses++ {
		res := tokenFrom(t, r, "", wrong)
		if res.Status == http.StatusTooManyRequests {
			break
		}
		if res.Status != 400 {
			t.Fatalf("guess %d: %d %s", guesses, res.Status, res.Body)
		}
	}
	if guesses != 5 {
		t.Fatalf("%d wrong passwords answered before 429, want 5", guesses)
	}
	wrongAnswer := tokenFrom(t, r, "", wrong)
	wait := retryAfter(t, wrongAnswer)
	rightAnswer := tokenFrom(t, r, "", right)
	if retryAfter(t, rightAnswer) != wait {
		t.Error("the right password during the lock-out is answered differently")
	}
	// The attacker waits each time and guesses again: the wait grows, capped at a minute.
	var last time.Duration
	for i := 0; i < 12; i++ {
		r.Clock.Advance(wait)
		if res := tokenFrom(t, r, "", wrong); res.Status != 400 {
			t.Fatalf("guess after waiting %v: %d %s", wait, res.Status, res.Body)
		}
		last, wait = wait, retryAfter(t, tokenFrom(t, r, "", wrong))
		if wait > time.Minute {
			t.Fatalf("Retry-After %v: the real user would be locked out too long", wait)
		}
	}
	if last != time.Minute || wait != time.Minute {
		t.Errorf("waits end at %v, %v; want them to grow to the one-minute cap", last, wait)
	}
	// A different address is held up only by the account's delay ...
	if res := tokenFrom(t, r, "127.0.0.2", right); res.Status != http.StatusTooManyRequests {
		t.Errorf("right password from another address during the account's lock-out: %d", res.Status)
	}
	// ... and after the wait the real user signs in.
	r.Clock.Advance(wait)
	if res := tokenFrom(t, r, "127.0.0.2", right); res.Status != 200 {
		t.Fatalf("the real user after the wait: %d %s", res.Status, res.Body)
	}
}

// TestGuessingFromOneAddressDoesNotBlockOthers sprays many accounts from one address:
// the address is held up, another address is not; a user who signed in from an address
// before keeps signing in from it while an attacker elsewhere keeps the account busy.
func TestGuessingFromOneAddressDoesNotBlockOthers(t *testing.T) {
	r := relaytest.Start(t)
	r.CreateUser(t, "kim@example.com", "kim-password")
	if res := tokenFrom(t, r, "127.0.0.3", passwordForm("kim@example.com", "kim-password")); res.Status != 200 {
		t.Fatalf("kim: %d %s", res.Status, res.Body)
	}
	var n int
	for ; n < 100; n++ {
		res := tokenFrom(t, r, "", passwordForm("user"+strconv.Itoa(n)+"@example.com", "guess-guess"))
		if res.Status == http.StatusTooManyRequests {
			break
		}
	}
	if n != 20 {
		t.Fatalf("%d failures from one address before 429, want 20", n)
	}
	if res := tokenFrom(t, r, "", passwordForm(relaytest.AdminEmail, relaytest.AdminPassword)); res.Status != http.StatusTooManyRequests {
		t.Errorf("the spraying address signs in: %d", res.Status)
	}
	if res := tokenFrom(t, r, "127.0.0.2", passwordForm(relaytest.AdminEmail, relaytest.AdminPassword)); res.Status != 200 {
		t.Errorf("another address is blocked: %d %s", res.Status, res.Body)
	}
	// An attacker at 127.0.0.4 locks kim's account for others ...
	for i := 0; i < 6; i++ {
		tokenFrom(t, r, "127.0.0.4", passwordForm("kim@example.com", "guess-guess"))
	}
	retryAfter(t, tokenFrom(t, r, "127.0.0.4", passwordForm("kim@example.com", "kim-password")))
	// ... but not for kim at the address she signed in from before.
	if res := tokenFrom(t, r, "127.0.0.3", passwordForm("kim@example.com", "kim-password")); res.Status != 200 {
		t.Errorf("kim at her usual address during an attack elsewhere: %d %s", res.Status, res.Body)
	}
}

// TestClientSecretGuessingIsSlowedDown: the client_credentials grant is limited the same
// way, per client ID.
func TestClientSecretGuessingIsSlowedDown(t *testing.T) {
	r, tok, org := adminSetup(t)
	var c struct{ ClientID, ClientSecret string }
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/clients", tok, map[string]any{"name": "vms", "role": "operator"}).JSON(t, &c)
	form := func(secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {secret}}
	}
	for i := 0; i < 5; i++ {
		if res := tokenFrom(t, r, "127.0.0.2", form("ccs_wrong")); res.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, res.Status, res.Body)
		}
	}
	wait := retryAfter(t, tokenFrom(t, r, "127.0.0.3", form(c.ClientSecret)))
	r.Clock.Advance(wait)
	if res := tokenFrom(t, r, "127.0.0.3", form(c.ClientSecret)); res.Status != 200 {
		t.Fatalf("after the wait: %d %s", res.Status, res.Body)
	}
}

// TestFailedSignInsAreAudited: a wrong password for an existing account is in the audit
// log of the account's organization, with the source address.
func TestFailedSignInsAreAudited(t *testing.T) {
	r, tok, org := adminSetup(t)
	tokenFrom(t, r, "127.0.0.2", passwordForm("ADMIN@example.com", "wrong-guess"))
	var log struct {
		Items []struct {
			Principal, Action, Source string
			Status                    int
		}
	}
	testtool.WaitFor(t, 5*time.Second, "the failed sign-in in the audit log", func() bool {
		r.Do(t, "GET", "/api/v1/orgs/"+org+"/audit?action=sign-in-failed", tok, nil).JSON(t, &log)
		return len(log.Items) > 0
	})
	if len(log.Items) != 1 {
		t.Fatalf("audit log: %+v", log.Items)
	}
	if e := log.Items[0]; !strings.HasPrefix(e.Principal, "usr_") || e.Source != "127.0.0.2" || e.Status != 400 {
		t.Errorf("audit entry %+v", e)
	}
}
