package edgelink

import (
	"fmt"
	"time"
)

// State is where an [Agent]'s link stands.
type State int

const (
	// StateUnknown is the zero value: Run has not been called.
	StateUnknown State = iota
	// StateConnecting: dialing the relay and doing the handshakes.
	StateConnecting
	// StateConnected: the link is up; the agent serves the relay and Client works.
	StateConnected
	// StateBackoff: the last attempt failed or the link dropped; waiting to try again.
	StateBackoff
	// StateStopped: Run has returned.
	StateStopped
)

var stateNames = [...]string{
	StateUnknown:    "unknown",
	StateConnecting: "connecting",
	StateConnected:  "connected",
	StateBackoff:    "backoff",
	StateStopped:    "stopped",
}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// ParseState is the inverse of State.String.
func ParseState(s string) (State, error) {
	for i, name := range stateNames {
		if name == s {
			return State(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("edgelink: unknown link state %q", s)
}

// MarshalText makes a State its name in JSON and logs.
func (s State) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(stateNames) {
		return nil, fmt.Errorf("edgelink: invalid link state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses a name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is a snapshot of an agent's link, for `edgehost status` and health checks.
type Status struct {
	State State `json:"state"`
	// Since is when State was entered.
	Since time.Time `json:"since"`
	// ConnectedAt is when the current link came up; zero unless State is connected.
	ConnectedAt time.Time `json:"connectedAt,omitzero"`
	// Failures counts the attempts that failed since the last stable link.
	Failures int `json:"failures"`
	// NextAttempt is when the next attempt starts; set in StateBackoff.
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// LastError is why the last attempt failed or the last link ended; nil after a
	// clean end.
	LastError error `json:"-"`
}

// EventKind is what happened to an agent's link at the relay.
type EventKind int

const (
	// EventUnknown is the zero value and never sent.
	EventUnknown EventKind = iota
	// EventConnected: a session became the agent's current one (also when it
	// replaces an older session of the same agent).
	EventConnected
	// EventDisconnected: the agent's current session ended and none replaced it.
	EventDisconnected
)

var eventNames = [...]string{EventUnknown: "unknown", EventConnected: "connected", EventDisconnected: "disconnected"}

func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventNames[k]
}

// MarshalText makes an EventKind its name in JSON and logs.
func (k EventKind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(eventNames) {
		return nil, fmt.Errorf("edgelink: invalid event kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// Event tells the relay's owner that an agent's link came up or went down, so that it
// can update its inventory. Events of one agent arrive in order.
type Event struct {
	Kind    EventKind
	AgentID string
	Time    time.Time
	// RemoteAddr is the address of the agent's connection.
	RemoteAddr string
	// Err is why the session ended (EventDisconnected only): nil when the agent closed
	// it, ErrIdleTimeout when it went silent, ErrRelayClosed, or a connection error.
	Err error
}

// AgentStatus is what the relay knows about one agent's link.
type AgentStatus struct {
	AgentID   string `json:"agentId"`
	Connected bool   `json:"connected"`
	// ConnectedAt is when the current (or, when disconnected, the last) session began.
	ConnectedAt time.Time `json:"connectedAt"`
	// DisconnectedAt is when the last session ended; zero while connected.
	DisconnectedAt time.Time `json:"disconnectedAt,omitzero"`
	// LastSeen is when the relay last received anything from the agent.
	LastSeen   time.Time `json:"lastSeen"`
	RemoteAddr string    `json:"remoteAddr,omitempty"`
	// Streams is the number of streams open on the current session.
	Streams int `json:"streams"`
}
