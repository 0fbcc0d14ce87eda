package edgelink

import (
	"errors"
	"fmt"
)

// ErrAgentOffline is returned (wrapped, with the agent ID) by [Relay.Dial] and by
// requests through [Relay.Transport] when the agent has no link to this relay. Callers
// map it to "agent offline" (503), distinct from a device that does not answer.
var ErrAgentOffline = errors.New("edgelink: agent offline")

// ErrNotConnected is returned (wrapped) by requests through [Agent.Client] while the
// agent has no link to the relay. Requests fail at once rather than wait for the link:
// callers journal what they owe the relay and send it again after reconnecting.
var ErrNotConnected = errors.New("edgelink: not connected to the relay")

// ErrLinkLost is returned by reads on a stream whose link went down: yamux would
// report a plain io.EOF, which on an upgraded or close-delimited stream looks like the
// peer's clean end.
var ErrLinkLost = errors.New("edgelink: link lost")

// ErrReplaced ends a relay-side session when the same agent connects again: the newer
// session wins, since the older one is usually a half-dead connection the agent has
// already given up on.
var ErrReplaced = errors.New("edgelink: replaced by a newer session of the same agent")

// ErrRevoked ends the relay-side session of an agent that was deleted (see
// [Relay.Disconnect]).
var ErrRevoked = errors.New("edgelink: the agent was deleted")

// ErrRelayClosed is returned by [Relay.Accept] after [Relay.Close], and ends the sessions
// that were open when Close was called.
var ErrRelayClosed = errors.New("edgelink: relay closed")

// ErrIdleTimeout ends a relay-side session when nothing at all, not even a keepalive
// ping, arrived from the agent for [RelayConfig.IdleTimeout].
var ErrIdleTimeout = errors.New("edgelink: agent silent for longer than the idle timeout")

// ErrUnexpectedMessage ends a link on which a WebSocket text message arrived: the
// link carries binary messages only, so text means the peer is not an edgelink peer.
var ErrUnexpectedMessage = errors.New("edgelink: unexpected WebSocket text message")

// ErrBadAgentID is returned by [Relay.Accept] and the relay's Transport for an agent ID
// that is empty or not of the form agent IDs have (see [ValidAgentID]).
var ErrBadAgentID = errors.New("edgelink: malformed agent ID")

// ErrNotAgentHost is returned by the relay's Transport for a request whose host does not
// name an agent (see [AgentHost]). The Transport never dials anything but agents.
var ErrNotAgentHost = errors.New("edgelink: request host does not name an agent")

// ErrTLSOverLink is returned by the relay's and the agent's Transports for https URLs:
// the link itself is already TLS, so requests over it use http://.
var ErrTLSOverLink = errors.New("edgelink: use http:// over the link (the link is already TLS)")

// ErrAlreadyRunning is returned by [Agent.Run] when Run is already running.
var ErrAlreadyRunning = errors.New("edgelink: agent already running")

// ErrSubprotocol is returned by the agent when the relay accepted the WebSocket but did
// not select the edgelink subprotocol.
var ErrSubprotocol = errors.New("edgelink: relay did not select the edgelink subprotocol")

// HandshakeError is returned by the agent when the relay answered the WebSocket
// handshake with something other than 101 Switching Protocols: 401/403 for a
// certificate it does not accept, 400 for a subprotocol it does not speak.
type HandshakeError struct {
	StatusCode int
	// Message is the start of the relay's answer body, for the operator.
	Message string
}

func (e *HandshakeError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("edgelink: relay refused the link: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("edgelink: relay refused the link: HTTP %d: %s", e.StatusCode, e.Message)
}
