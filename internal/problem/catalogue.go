package problem

import "net/http"

// base prefixes every problem type URI. The URIs identify types; they need not resolve.
const base = "https://camcloud.dev/problems/"

// The catalogue: every problem type the relay answers with. Add here, never inline.
var (
	// BadRequest: the request cannot be understood (bad query parameter, bad cursor).
	BadRequest = Type{base + "bad-request", http.StatusBadRequest, "Bad request"}
	// MalformedJSON: the body is not a single well-formed JSON object.
	MalformedJSON = Type{base + "malformed-json", http.StatusBadRequest, "Malformed JSON"}
	// UnknownField: the body has a member the operation does not define.
	UnknownField = Type{base + "unknown-field", http.StatusBadRequest, "Unknown field"}
	// Validation: a field has a value the operation refuses; invalidParams names it.
	Validation = Type{base + "validation", http.StatusBadRequest, "Invalid request"}
	// Unauthorized: no credentials, or credentials that are unknown, expired or revoked.
	Unauthorized = Type{base + "unauthorized", http.StatusUnauthorized, "Authentication required"}
	// Forbidden: authenticated, but the caller's role does not allow the operation.
	Forbidden = Type{base + "forbidden", http.StatusForbidden, "Forbidden"}
	// NotFound: no such resource, or one the caller may not know exists.
	NotFound = Type{base + "not-found", http.StatusNotFound, "Not found"}
	// MethodNotAllowed: the resource exists but not with this method (see Allow).
	MethodNotAllowed = Type{base + "method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed"}
	// Conflict: the resource already exists or the change conflicts with its state.
	Conflict = Type{base + "conflict", http.StatusConflict, "Conflict"}
	// LastAdmin: the change would leave an organization without an admin.
	LastAdmin = Type{base + "last-admin", http.StatusConflict, "Organization needs an admin"}
	// DeviceClaimed: another organization proved the device is its own.
	DeviceClaimed = Type{base + "device-claimed", http.StatusConflict, "Device claimed by another organization"}
	// OAKMismatch: a claim's owner authentication key is not the device's (its agent
	// proved another one).
	OAKMismatch = Type{base + "oak-mismatch", http.StatusUnprocessableEntity, "Owner authentication key does not match"}
	// InvitationExpired: the invitation code was valid once but has expired.
	InvitationExpired = Type{base + "invitation-expired", http.StatusGone, "Invitation expired"}
	// InvitationUsed: the invitation code has already been accepted.
	InvitationUsed = Type{base + "invitation-used", http.StatusGone, "Invitation already used"}
	// EnrollmentTokenUnknown: no such enrollment token (never issued, or its edge host was deleted).
	EnrollmentTokenUnknown = Type{base + "enrollment-token-unknown", http.StatusUnauthorized, "Unknown enrollment token"}
	// EnrollmentTokenUsed: the one-time enrollment token was already used.
	EnrollmentTokenUsed = Type{base + "enrollment-token-used", http.StatusGone, "Enrollment token already used"}
	// EnrollmentTokenExpired: the enrollment token is past its expiry.
	EnrollmentTokenExpired = Type{base + "enrollment-token-expired", http.StatusGone, "Enrollment token expired"}
	// ChallengeUnknown: the enrollment challenge was never issued for this device, was used, or expired.
	ChallengeUnknown = Type{base + "challenge-unknown", http.StatusUnauthorized, "Unknown or expired challenge"}
	// ProofRejected: the owner authentication key proof does not match the claim.
	ProofRejected = Type{base + "proof-rejected", http.StatusUnauthorized, "Owner authentication key proof rejected"}
	// TooManyAttempts: too many failed attempts (sign-in) from this address or for this
	// account; the Retry-After header says when to try again.
	TooManyAttempts = Type{base + "too-many-attempts", http.StatusTooManyRequests, "Too many attempts"}
	// OTPRequired: the password was right, but the account has two-step verification on
	// and the token request carried no otp field.
	OTPRequired = Type{base + "otp-required", http.StatusUnauthorized, "Two-step verification code required"}
	// OTPInvalid: the otp field of a token request is not a current authenticator code
	// nor an unused recovery code.
	OTPInvalid = Type{base + "otp-invalid", http.StatusUnauthorized, "Two-step verification code wrong"}
	// TwoFactorRequired: the organization requires two-step verification of its members
	// and the caller has not turned it on.
	TwoFactorRequired = Type{base + "two-factor-required", http.StatusForbidden, "Two-step verification required"}
	// RequestTimeout: the body did not arrive in time (see the relay's --body-timeout).
	RequestTimeout = Type{base + "request-timeout", http.StatusRequestTimeout, "Request body too slow"}
	// TooLarge: the body is over the size limit.
	TooLarge = Type{base + "too-large", http.StatusRequestEntityTooLarge, "Request body too large"}
	// UnsupportedMediaType: the body is not of the media type the operation takes.
	UnsupportedMediaType = Type{base + "unsupported-media-type", http.StatusUnsupportedMediaType, "Unsupported media type"}
	// ProfileInUse: a device profile that devices follow cannot be deleted.
	ProfileInUse = Type{base + "profile-in-use", http.StatusConflict, "Profile in use"}
	// AgentOffline: the agent that would serve the request is not connected.
	AgentOffline = Type{base + "agent-offline", http.StatusServiceUnavailable, "Agent offline"}
	// AgentError: the agent was reached but could not do what was asked.
	AgentError = Type{base + "agent-error", http.StatusBadGateway, "Agent error"}
	// The EdgeLink problems an agent answers with (package egress); the relay passes
	// them on unchanged.

	// DeviceUnknown: the serial is not one of the agent's devices.
	DeviceUnknown = Type{base + "device-unknown", http.StatusNotFound, "Unknown device"}
	// PathRefused: the request target is not a clean path under /vapix/.
	PathRefused = Type{base + "vapix-path-refused", http.StatusBadRequest, "VAPIX path refused"}
	// DeviceUnreachable: the device did not accept a connection or dropped it unanswered.
	DeviceUnreachable = Type{base + "device-unreachable", http.StatusBadGateway, "Device unreachable"}
	// DeviceTimeout: the device accepted the request but did not answer in time.
	DeviceTimeout = Type{base + "device-timeout", http.StatusGatewayTimeout, "Device timeout"}
	// DeviceAuthFailed: the device refused the agent's own credentials.
	DeviceAuthFailed = Type{base + "device-auth-failed", http.StatusBadGateway, "Device refused the agent's credentials"}
	// DeviceRedirect: the device redirected to somewhere other than itself.
	DeviceRedirect = Type{base + "device-redirect", http.StatusBadGateway, "Device redirected elsewhere"}
	// AddressRefused: the device's or VMS server's address is outside the networks the
	// edge host may connect to (edgehost run --allow-device-net).
	AddressRefused = Type{base + "address-refused", http.StatusForbidden, "Address outside the edge host's allowed networks"}
	// EdgeLinkBusy: the agent has as many device requests in flight as it takes.
	EdgeLinkBusy = Type{base + "egress-busy", http.StatusServiceUnavailable, "Too many device requests"}

	// The live video problems (WHEP); the agent answers them, the relay passes them on.

	// BadSDP: a WHEP offer or trickle fragment that is not SDP the agent can answer
	// (malformed, or without H.264 video the viewer can receive).
	BadSDP = Type{base + "bad-sdp", http.StatusBadRequest, "Bad SDP"}
	// StreamUnavailable: the camera's stream could not be pulled (unreachable, refused,
	// no H.264 video).
	StreamUnavailable = Type{base + "stream-unavailable", http.StatusBadGateway, "Camera stream unavailable"}
	// LiveSessionsFull: the agent already serves as many live sessions as it may.
	LiveSessionsFull = Type{base + "live-sessions-full", http.StatusServiceUnavailable, "Too many live sessions"}
	// ICERestartUnsupported: a WHEP PATCH asked for an ICE restart (new ICE credentials);
	// only trickled candidates are taken, so the viewer starts a new session instead.
	ICERestartUnsupported = Type{base + "ice-restart-unsupported", http.StatusUnprocessableEntity, "ICE restart not supported"}

	// Unavailable: the relay is starting or stopping.
	Unavailable = Type{base + "unavailable", http.StatusServiceUnavailable, "Service unavailable"}
	// Internal: a fault of the relay; the request ID finds it in the log.
	Internal = Type{base + "internal", http.StatusInternalServerError, "Internal error"}
)

// Catalogue lists every type, for documentation and for the test that keeps
// api/openapi.yaml in step.
func Catalogue() []Type {
	return []Type{
		BadRequest, MalformedJSON, UnknownField, Validation, Unauthorized, Forbidden, NotFound,
		MethodNotAllowed, Conflict, LastAdmin, DeviceClaimed, OAKMismatch, InvitationExpired, InvitationUsed,
		EnrollmentTokenUnknown, EnrollmentTokenUsed, EnrollmentTokenExpired, ChallengeUnknown, ProofRejected, TooManyAttempts, OTPRequired, OTPInvalid, TwoFactorRequired, RequestTimeout, TooLarge, UnsupportedMediaType, ProfileInUse, AgentOffline, AgentError,
		DeviceUnknown, PathRefused, DeviceUnreachable, DeviceTimeout, DeviceAuthFailed, DeviceRedirect, AddressRefused, EdgeLinkBusy, Unavailable, Internal,
		BadSDP, StreamUnavailable, LiveSessionsFull, ICERestartUnsupported,
	}
}
