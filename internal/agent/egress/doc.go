// Package egress is the agent's side of EdgeLink (F11): the http.Handler that carries an
// authorized caller's VAPIX request from the relay to one of the agent's cameras.
//
// The relay receives ANY /api/v1/orgs/{org}/devices/{serial}/vapix/{path...}, checks the
// caller, and forwards the request over the agent link as
// PathPrefix + "{serial}/vapix/{path...}" with the same method, query, headers and a
// streamed body. A Proxy answers it by sending the request to the camera's VAPIX
// (http://Target.Addr/{path...}) with the agent's own Digest credentials, and streams the
// answer back. Callers never see or supply those credentials.
//
// # What is refused (server-side request forgery)
//
// Only devices that Devices knows are reachable, always at their inventory address, and
// only where Config.DialControl (the edge host's --allow-device-net) lets a connection go,
// judged on the resolved address (403 address-refused otherwise); the request's Host
// header, any absolute-form request target and anything in the path are ignored or
// refused. The path after /vapix/ must already be clean (linkapi.CheckSubPath, which the
// relay applies too): no "." or ".."
// segments (plain or percent-encoded), no empty segments, no encoded slash or backslash,
// no backslash, NUL, control character, '%' after decoding, or anything outside RFC 3986
// path characters. Only GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS pass (a TRACE
// echo would show the injected Authorization header; CONNECT names a host). The caller's
// Authorization, Proxy-Authorization, Cookie, Forwarded, X-Forwarded-* and X-Real-IP
// headers are dropped, as are hop-by-hop headers and every header the Connection header
// names. Redirects are never followed; a 3xx whose Location leaves the device is answered
// 502 instead of being passed on.
//
// # Answers
//
// Whatever the device answers is passed through as is (a device 5xx included, and 1xx
// interim answers such as the 100 Continue of an upload), except that a 401 or 407 means
// the agent's own account failed, so it becomes a 502 problem (device-auth-failed) and
// the device's challenge is never shown; WWW-Authenticate, Authentication-Info and
// Set-Cookie are stripped from every answer. Failures of the gateway itself are
// application/problem+json (see Problems): unknown device 404, refused path 400, device
// unreachable 502, no answer in Config.Timeout 504, more than Config.MaxConcurrent
// requests in flight 503 with Retry-After.
//
// # Digest and streamed bodies
//
// Each device has one vapix.DigestTransport, the one the agent's VAPIX client
// authenticates with, cached while its Target is unchanged, so the device's nonce is
// reused with an increasing count: after the first challenge a call is one round trip.
// Small bodies are held and resent after a 401; large or unknown-length bodies
// (firmware, ACAP packages) stream through, after a body-less probe for a fresh
// challenge and with "Expect: 100-continue", and are resent only if not a byte of them
// was read; otherwise the 401 stands (and becomes device-auth-failed). See
// vapix.DigestTransport.
//
// WebSocket upgrades (the VAPIX event stream) pass through: the digest transport answers
// the challenge on the upgrade request and httputil.ReverseProxy splices the connection.
//
// Cancellation follows the caller: when the request's context ends, the device request
// is cancelled and its connection closed. Config.Timeout bounds the wait for the device's
// response headers only; bodies and upgraded connections may stream for longer.
package egress
