package api_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/identity"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// Guessing a claimed camera's owner authentication key through device enrollment: after
// a few wrong proofs even the right key waits (no oracle), and once the wait is over the
// real device enrolls.
func TestOwnerKeyGuessingIsSlowedDown(t *testing.T) {
	r := relaytest.Start(t)
	admin := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r.Do(t, http.MethodGet, "/api/v1/orgs", admin, nil).JSON(t, &orgs)
	const serial, realKey = "ACCC8E0000AA", "REALKEY1"
	if res := r.Do(t, http.MethodPost, "/api/v1/orgs/"+orgs.Items[0].ID+"/devices", admin,
		map[string]any{"serial": serial, "oak": realKey}); res.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", res.Status, res.Body)
	}
	ca, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(key string) error {
		_, err := identity.EnrollDevice(t.Context(), r.URL, ca, serial, key)
		return err
	}
	for i := range 5 {
		if err := enroll("GUESS00" + string(rune('A'+i))); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("guess %d: %v, want a refused proof", i, err)
		}
	}
	if err := enroll(realKey); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("the right key during the wait: %v, want 429", err)
	}
	r.Clock.Advance(3 * time.Second)
	if err := enroll(realKey); err != nil {
		t.Fatalf("the real device after the wait: %v", err)
	}
}
