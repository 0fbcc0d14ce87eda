package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// TestTokenExpiryInFakeTime runs the API's handler in a synctest bubble, where time.Now is
// virtual: a token works until its TTL has passed to the nanosecond and not after. The
// handler is called directly (no listener): network I/O would never let the bubble idle.
func TestTokenExpiryInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := store.Open(filepath.Join(t.TempDir(), "relay.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hasher := auth.NewHasher(relaytest.FastParams, 1)
		h, err := api.New(api.Config{Store: st, Hasher: hasher, UserTokenTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		hash, _ := hasher.Hash(t.Context(), "synctest-password")
		if _, err := st.CreateUser(t.Context(), "s@example.com", hash); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/api/v1/auth/token", strings.NewReader(url.Values{
			"grant_type": {"password"}, "username": {"s@example.com"}, "password": {"synctest-password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"expires_in":3600`) {
			t.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
		tok := strings.Split(strings.Split(rec.Body.String(), `"access_token":"`)[1], `"`)[0]
		get := func() int {
			req := httptest.NewRequest("GET", "/api/v1/orgs", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		if c := get(); c != http.StatusOK {
			t.Fatalf("fresh token: %d", c)
		}
		time.Sleep(time.Hour - time.Nanosecond)
		if c := get(); c != http.StatusOK {
			t.Errorf("a nanosecond before expiry: %d", c)
		}
		time.Sleep(time.Nanosecond)
		if c := get(); c != http.StatusUnauthorized {
			t.Errorf("at expiry: %d", c)
		}
	})
}
