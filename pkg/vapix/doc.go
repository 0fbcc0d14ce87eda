// Package vapix is a typed client for the VAPIX calls the camcloud agent makes to Axis
// cameras: device information, parameters, firmware, ACAP applications, overlays, users,
// PTZ, snapshots, events and the owner authentication key.
//
// A Client talks to one device. It authenticates with HTTP Digest and reuses both its
// connections and the device's nonce, so after the first challenge each call is one
// round trip; a streamed upload (firmware, application), whose body can go out only
// once, takes a fresh challenge first. That Digest stack is DigestTransport, exported so
// that a proxy injecting the same account (the agent's EdgeLink) authenticates exactly
// as the client does. Over HTTPS it also answers a device that asks for
// Basic only (AXIS OS 12's default policy), never over plain HTTP. Every call takes a
// context; a per-call timeout applies when the context has none. Errors wrap what the
// call was doing; errors.Is finds ErrUnauthorized, ErrForbidden, ErrNotFound and
// ErrUnavailable, and errors.As finds *Error with the device's own code and message.
//
// The device formats follow ../../shared/reference/vapix.md; the parsers are pure
// functions over bytes (parse.go), fuzzed, so bad device output is an error, never a panic.
package vapix
