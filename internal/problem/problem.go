// Package problem writes HTTP API errors as RFC 9457 problem details
// (application/problem+json) from one catalogue of stable problem types.
//
// A client branches on Type, never on Title or Detail: the type URIs in catalogue.go are
// part of the API contract and do not change once published. Detail is for people and
// never carries a Go error string, so no path, host or secret leaks through it.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ContentType is the media type of a problem body.
const ContentType = "application/problem+json"

// RequestIDHeader is the response header that carries the request ID. [Write] copies it
// into the body so that a user can quote one value that also appears in the server log.
const RequestIDHeader = "X-Request-ID"

// Type is one entry of the catalogue: a stable URI, its HTTP status and a short title.
type Type struct {
	URI    string
	Status int
	Title  string
}

// InvalidParam names one bad input field and says what is wrong with it.
type InvalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Problem is an RFC 9457 problem details object with the extension members this API uses.
// It is also an error, so that lower layers can return one and the handler edge writes it.
type Problem struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail,omitempty"`
	Instance      string         `json:"instance,omitempty"`
	RequestID     string         `json:"requestId,omitempty"`
	InvalidParams []InvalidParam `json:"invalidParams,omitempty"`
}

// New makes a problem of type t with a human detail.
func New(t Type, detail string) *Problem {
	return &Problem{Type: t.URI, Title: t.Title, Status: t.Status, Detail: detail}
}

// Newf makes a problem of type t with a formatted detail.
func Newf(t Type, format string, args ...any) *Problem {
	return New(t, fmt.Sprintf(format, args...))
}

// Invalid makes a validation problem naming one field.
func Invalid(name, reason string) *Problem {
	p := Newf(Validation, "%s: %s", name, reason)
	p.InvalidParams = []InvalidParam{{Name: name, Reason: reason}}
	return p
}

// Error makes a Problem usable as an error.
func (p *Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// Is matches another *Problem of the same type, so errors.Is(err, problem.New(NotFound, ""))
// works through wrapping.
func (p *Problem) Is(target error) bool {
	t, ok := target.(*Problem)
	return ok && t.Type == p.Type
}

// Write sends p with its status. The request ID is taken from the response header
// RequestIDHeader, which the request-ID middleware sets before any handler runs.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	out := *p
	if out.RequestID == "" {
		out.RequestID = w.Header().Get(RequestIDHeader)
	}
	if out.Instance == "" && r != nil && r.URL != nil {
		out.Instance = r.URL.Path
	}
	if out.Status == 0 {
		out.Status = http.StatusInternalServerError
	}
	body, err := json.Marshal(out)
	if err != nil {
		// Only plain strings and ints are marshalled; this cannot happen.
		body = []byte(`{"type":"` + Internal.URI + `","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(out.Status)
	_, _ = w.Write(append(body, '\n'))
}
