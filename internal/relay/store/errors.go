package store

import "errors"

var (
	// ErrNotFound: no such record (or not in the organization asked about).
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a record with that key already exists.
	ErrExists = errors.New("store: already exists")
	// ErrLastAdmin: the change would leave an organization without an admin.
	ErrLastAdmin = errors.New("store: an organization must keep at least one admin")
	// ErrClaimedElsewhere: another organization proved the device is its own.
	ErrClaimedElsewhere = errors.New("store: device belongs to another organization")
	// ErrOAKMismatch: a claim's owner authentication key is not the one the device's agent
	// proved.
	ErrOAKMismatch = errors.New("store: owner authentication key does not match the device")
	// ErrLocked: another process (a running relay) holds the database.
	ErrLocked = errors.New("store: database is in use by another process")
	// ErrExpired: the token or invitation exists but has expired.
	ErrExpired = errors.New("store: expired")
	// ErrUsed: the one-time token or invitation has already been used.
	ErrUsed = errors.New("store: already used")
	// ErrEmailMismatch: the invitation is addressed to another e-mail address.
	ErrEmailMismatch = errors.New("store: invitation is for another e-mail address")
	// ErrBadCursor: the paging cursor was not made by this store.
	ErrBadCursor = errors.New("store: bad cursor")
	// ErrProof: an owner-authentication-key proof does not verify.
	ErrProof = errors.New("store: owner authentication key proof does not verify")
)

// Enrollment token errors, distinct so the enrollment endpoint can say which it was.
var (
	// ErrEnrollmentTokenUnknown: no such enrollment token (or its edge host was deleted).
	ErrEnrollmentTokenUnknown = errors.New("store: unknown enrollment token")
	// ErrEnrollmentTokenUsed: the enrollment token was already consumed.
	ErrEnrollmentTokenUsed = errors.New("store: enrollment token already used")
	// ErrEnrollmentTokenExpired: the enrollment token is past its expiry.
	ErrEnrollmentTokenExpired = errors.New("store: enrollment token expired")
)
