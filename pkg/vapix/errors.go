package vapix

import (
	"errors"
	"fmt"
)

var (
	// ErrUnauthorized: the device refused the credentials (HTTP 401 after authenticating).
	ErrUnauthorized = errors.New("vapix: unauthorized")
	// ErrForbidden: the account lacks the privilege for the call (HTTP 403, or the JSON
	// error 2001 "Access forbidden" some APIs answer with HTTP 200, see Error.Is).
	ErrForbidden = errors.New("vapix: forbidden")
	// ErrNotFound: the device does not have this API (HTTP 404).
	ErrNotFound = errors.New("vapix: not found")
	// ErrUnavailable: the device does not answer (refused, reset, rebooting).
	ErrUnavailable = errors.New("vapix: device unavailable")
	// ErrMalformed: the device answered something this client cannot read.
	ErrMalformed = errors.New("vapix: malformed reply")
)

// Error is an error the device reported in its reply body: a JSON error object (sent
// with HTTP 200), an "Error: n" line of a legacy CGI, or a "# Error:" line of param.cgi.
type Error struct {
	API     string // the CGI, e.g. "firmwaremanagement.cgi"
	Code    int    // the device's code; 0 when the reply carried only text
	Message string
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("vapix %s: error %d: %s", e.API, e.Code, e.Message)
	}
	return fmt.Sprintf("vapix %s: %s", e.API, e.Message)
}

// codeAccessForbidden is the JSON error "Access forbidden" of the APIs whose code table
// has it (vapix.md 2): a device may answer an under-privileged call with it in an HTTP 200
// instead of a 403 (vapix.md 1.3).
const codeAccessForbidden = 2001

// forbiddenCodeAPIs are the JSON APIs whose error 2001 means "Access forbidden"; error
// codes are per API family, so 2001 of another API means something else.
var forbiddenCodeAPIs = map[string]bool{"basicdeviceinfo.cgi": true, "apidiscovery.cgi": true}

// Is makes errors.Is(err, ErrForbidden) hold for "Access forbidden" reported in the body,
// so callers find a refusal for lack of privilege the same way whichever form the device
// chose.
func (e *Error) Is(target error) bool {
	return target == ErrForbidden && e.Code == codeAccessForbidden && forbiddenCodeAPIs[e.API]
}

// HTTPError is an unexpected HTTP status from the device.
type HTTPError struct {
	Status int
	Body   string // the start of the body, for diagnostics
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("vapix: HTTP %d: %s", e.Status, e.Body)
}
