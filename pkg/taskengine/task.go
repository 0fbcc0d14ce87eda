package taskengine

import (
	"encoding/json"
	"time"
)

// State is where a task stands at the edge.
type State string

// The states a task goes through in the engine. Queued and dispatched are the task
// manager's; the engine starts at accepted.
const (
	Accepted  State = "accepted"  // journaled, waiting for its turn
	Running   State = "running"   // its runner is working on the device
	Succeeded State = "succeeded" // done
	Failed    State = "failed"    // this attempt failed; the task manager may retry
	Cancelled State = "cancelled" // cancelled before it ended
	Expired   State = "expired"   // its deadline passed before it could start
)

// Final reports whether a state ends the attempt.
func (s State) Final() bool {
	return s == Succeeded || s == Failed || s == Cancelled || s == Expired
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
	State   State     `json:"state"`
	At      time.Time `json:"at"`
	Detail  string    `json:"detail,omitempty"`
	Attempt int       `json:"attempt"`
}

// Record is a task and everything the engine did with it.
type Record struct {
	Task
	State       State           `json:"state"`
	Detail      string          `json:"detail,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Transitions []Transition    `json:"transitions"`
	// Reported is set once the task manager acknowledged this record's latest state.
	Reported bool `json:"reported"`
	// seq orders accepted tasks for their turn.
	Seq uint64 `json:"seq"`
}
