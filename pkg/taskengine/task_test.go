package taskengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// The states a task takes in the engine, as the agent's metrics label them.
func TestStates(t *testing.T) {
	if got := fmt.Sprint(States()); got != "[accepted running succeeded failed cancelled expired]" {
		t.Fatalf("States() = %s", got)
	}
}

// A journal entry as the engine has always written it (here by the engine before its
// states became package taskstate's) reads and writes back byte for byte: journals
// written by older agents open, and what is written stays readable by them.
func TestJournalEntryForm(t *testing.T) {
	const entry = `{"id":"ok","attempt":1,"kind":"ok","serial":"A","state":"succeeded","result":{"ok":true},` +
		`"transitions":[{"state":"accepted","at":"2026-12-01T10:00:00Z","attempt":1},{"state":"running","at":"2026-12-01T10:00:00Z","attempt":1},` +
		`{"state":"running","at":"2026-12-01T10:00:00Z","detail":"step","attempt":1},{"state":"succeeded","at":"2026-12-01T10:00:00Z","attempt":1}],` +
		`"reported":false,"seq":1}`
	var r Record
	if err := json.Unmarshal([]byte(entry), &r); err != nil {
		t.Fatal(err)
	}
	if r.State != taskstate.Succeeded || len(r.Transitions) != 4 || r.Transitions[2].State != taskstate.Running {
		t.Fatalf("decoded %+v", r)
	}
	b, err := json.Marshal(r)
	if err != nil || string(b) != entry {
		t.Fatalf("written back as\n%s\nwant\n%s (%v)", b, entry, err)
	}
}

// Every move the engine journals is checked against the table of moves: one it does
// not allow is refused and leaves the record as it was.
func TestAdvanceFollowsTheTable(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := &Engine{cfg: Config{Now: func() time.Time { return at }}}
	r := Record{Task: Task{ID: "t", Attempt: 1}}
	for _, to := range []taskstate.State{taskstate.Accepted, taskstate.Running, taskstate.Running, taskstate.Succeeded} {
		if err := e.advance(&r, to, ""); err != nil {
			t.Fatalf("to %s: %v", to, err)
		}
	}
	err := e.advance(&r, taskstate.Running, "again")
	var me *taskstate.MoveError
	if !errors.As(err, &me) || me.From != taskstate.Succeeded || me.To != taskstate.Running {
		t.Fatalf("succeeded -> running: %v", err)
	}
	if r.State != taskstate.Succeeded || len(r.Transitions) != 4 || r.Detail != "" {
		t.Fatalf("a refused move changed the record: %+v", r)
	}
}
