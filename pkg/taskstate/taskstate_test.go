package taskstate

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	for _, s := range All() {
		got, err := Parse(s.String())
		if err != nil || got != s {
			t.Errorf("Parse(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "Running", "done", "queued "} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted an unknown state", bad)
		}
	}
}

// The JSON form is the state's name: what agents and relays already exchange and store.
func TestJSONIsTheName(t *testing.T) {
	b, err := json.Marshal(struct{ S State }{Running})
	if err != nil || string(b) != `{"S":"running"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
}

func TestFinal(t *testing.T) {
	want := map[State]bool{Succeeded: true, Failed: true, Cancelled: true, Expired: true}
	for _, s := range All() {
		if s.Final() != want[s] {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}

func TestMoves(t *testing.T) {
	for _, c := range []struct {
		from, to State
		ok       bool
	}{
		{None, Queued, true},
		{Queued, Dispatched, true},
		{Queued, Succeeded, true}, // a report of a task that ran while the relay waited
		{Dispatched, Accepted, true},
		{Accepted, Running, true},
		{Running, Running, true},  // progress
		{Running, Accepted, true}, // the agent restarted and resumes it
		{Running, Failed, true},
		{Failed, Queued, true}, // a retry
		{Succeeded, Running, false},
		{Succeeded, Failed, false},
		{Cancelled, Running, false},
		{Expired, Queued, false},
		{Running, Queued, false},
		{Accepted, Dispatched, false},
		{Running, "done", false},
	} {
		err := Check(c.from, c.to)
		if (err == nil) != c.ok {
			t.Errorf("%q -> %q: %v, want allowed=%v", c.from, c.to, err, c.ok)
		}
		var me *MoveError
		if err != nil && (!errors.As(err, &me) || me.From != c.from || me.To != c.to) {
			t.Errorf("%q -> %q: error %v is not a *MoveError of the move", c.from, c.to, err)
		}
	}
	// Nothing leaves a final state but a failed attempt's retry or its failing for good.
	for _, from := range All() {
		if !from.Final() {
			continue
		}
		for _, to := range All() {
			if CanMove(from, to) && !(from == Failed && (to == Queued || to == Failed)) {
				t.Errorf("%s -> %s allowed", from, to)
			}
		}
	}
}
