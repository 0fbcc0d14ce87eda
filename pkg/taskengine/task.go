package taskengine

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// States are the states a task takes in the engine, from accepted on: queued and
// dispatched are the task manager's, before the agent has the task.
func States() []taskstate.State {
	return slices.DeleteFunc(taskstate.All(), func(s taskstate.State) bool {
		return s == taskstate.Queued || s == taskstate.Dispatched
	})
}

// Task is one action on one device.
type Task struct {
	ID      string          `json:"id"`
	Attempt int             `json:"attempt"` // 1 for the first; a retry is a new attempt of the same ID
	Kind    string          `json:"kind"`
	Serial  string          `json:"serial"`
	Params  json.RawMessage `json:"params,omitempty"`
	// Deadline, when set, is when the task expires if it has not started.
	Deadline time.Time `json:"deadline,omitzero"`
	// Resumed is set when the task ran before and the agent stopped before it ended: the
	// last progress its runner recorded then ("" if none), so that the runner can tell
	// how far it got (an image uploaded, a reboot asked for).
	Resumed *string `json:"-"`
}

// Transition is one state change, as the journal recorded it.
type Transition struct {
	State   taskstate.State `json:"state"`
	At      time.Time       `json:"at"`
	Detail  string          `json:"detail,omitempty"`
	Attempt int             `json:"attempt"`
}

// Record is a task and everything the engine did with it.
type Record struct {
	Task
	State       taskstate.State `json:"state"`
	Detail      string          `json:"detail,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Transitions []Transition    `json:"transitions"`
	// Reported is set once the task manager acknowledged this record's latest state.
	Reported bool `json:"reported"`
	// seq orders accepted tasks for their turn.
	Seq uint64 `json:"seq"`
}
