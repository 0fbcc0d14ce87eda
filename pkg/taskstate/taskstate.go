// Package taskstate is the state of a task, one definition for the relay's task manager,
// the agent link and the agent's task engine (package taskengine): the states, which of
// them end an attempt, and which moves between them are allowed. A task is queued and
// dispatched at the relay, then accepted, running and ended (succeeded, failed,
// cancelled, expired) at the agent, which reports each move.
//
// A State is stored and sent as its name ("running"); those names are part of the link
// between agents and the relay and of what both keep on disk, so they never change.
package taskstate

import (
	"fmt"
	"slices"
)

// State is where a task stands. Its JSON form is its name.
type State string

// The states. None is a task that does not exist yet.
const (
	None       State = ""
	Queued     State = "queued"     // at the relay, waiting for its turn or its agent
	Dispatched State = "dispatched" // given to its agent, not yet acknowledged by a report
	Accepted   State = "accepted"   // journaled by the agent, waiting for its turn there
	Running    State = "running"    // the agent is working on the device
	Succeeded  State = "succeeded"  // done
	Failed     State = "failed"     // this attempt failed; the task manager may retry
	Cancelled  State = "cancelled"  // cancelled before it ended
	Expired    State = "expired"    // its deadline passed before it could start
)

// All lists the states a task can be in, in the order a task goes through them.
func All() []State {
	return []State{Queued, Dispatched, Accepted, Running, Succeeded, Failed, Cancelled, Expired}
}

// String is the state's name.
func (s State) String() string { return string(s) }

// Parse reads a state's name; anything else (and the empty name) is an error.
func Parse(name string) (State, error) {
	s := State(name)
	if !slices.Contains(All(), s) {
		return None, fmt.Errorf("taskstate: unknown task state %q", name)
	}
	return s, nil
}

// Final reports whether a state ends an attempt.
func (s State) Final() bool {
	return s == Succeeded || s == Failed || s == Cancelled || s == Expired
}

// ended are the states an attempt ends in, reachable from every state before them: an
// agent reports its latest state, so the relay may see a task go from queued to
// succeeded at once.
var ended = []State{Succeeded, Failed, Cancelled, Expired}

// allowed is the table of moves: from a state to the states it may go to. A final state
// goes nowhere, but for a failed attempt queued again (a retry, as a new attempt) and a
// failed task failed for good (its agent deleted).
var allowed = map[State][]State{
	None:       {Queued, Dispatched, Accepted, Running, Succeeded, Failed, Cancelled, Expired},
	Queued:     append([]State{Dispatched, Accepted, Running}, ended...),
	Dispatched: append([]State{Accepted, Running}, ended...),
	Accepted:   append([]State{Accepted, Running}, ended...),
	// Running to accepted: the agent stopped while the task ran and journals it waiting
	// again, to resume. Running to running: a step of its progress.
	Running:   append([]State{Accepted, Running}, ended...),
	Failed:    {Queued, Failed},
	Succeeded: nil,
	Cancelled: nil,
	Expired:   nil,
}

// CanMove reports whether a task may go from one state to another.
func CanMove(from, to State) bool { return slices.Contains(allowed[from], to) }

// MoveError is a move the table does not allow.
type MoveError struct{ From, To State }

func (e *MoveError) Error() string {
	from := e.From.String()
	if e.From == None {
		from = "nothing"
	}
	return fmt.Sprintf("taskstate: a task may not go from %s to %q", from, e.To.String())
}

// Check returns a *MoveError when a task may not go from one state to another.
func Check(from, to State) error {
	if !CanMove(from, to) {
		return &MoveError{From: from, To: to}
	}
	return nil
}
