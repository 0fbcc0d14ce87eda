package taskengine

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Adopt journals ended records made elsewhere once, as they stand: an unreported one is
// listed for reporting, a reported one is not, adopting again changes nothing, and a
// record that has not ended is refused (nothing would ever give its runner the task).
func TestAdoptEndedRecords(t *testing.T) {
	e, err := Open(Config{Journal: filepath.Join(t.TempDir(), "tasks.db"), Runners: map[string]Runner{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	failed := Record{Task: Task{ID: "a", Attempt: 1, Kind: "onboard", Serial: "S1"}, State: taskstate.Failed, Detail: "interrupted",
		Transitions: []Transition{{State: taskstate.Queued, At: at, Attempt: 1}, {State: taskstate.Failed, At: at, Detail: "interrupted", Attempt: 1}}}
	done := Record{Task: Task{ID: "b", Attempt: 1, Kind: "onboard", Serial: "S2"}, State: taskstate.Succeeded, Reported: true,
		Transitions: []Transition{{State: taskstate.Succeeded, At: at, Attempt: 1}}}
	for range 2 {
		for _, r := range []Record{failed, done} {
			if _, err := e.Adopt(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ok, err := e.Adopt(Record{Task: Task{ID: "c", Attempt: 1, Kind: "onboard", Serial: "S3"}, State: taskstate.Running}); ok || err == nil {
		t.Fatalf("adopting a running task: %v, %v", ok, err)
	}
	un, err := e.Unreported()
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 1 || un[0].ID != "a" || un[0].State != taskstate.Failed || len(un[0].Transitions) != 2 {
		t.Fatalf("unreported after adopting: %+v", un)
	}
	all, err := e.List()
	if err != nil || len(all) != 2 {
		t.Fatalf("journal: %+v, %v", all, err)
	}
	if again, err := e.Adopt(failed); again || err != nil {
		t.Fatalf("adopting a task the journal has: %v, %v", again, err)
	}
}
