package camsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxJSONBody bounds a JSON API request; real devices refuse far smaller bodies.
const maxJSONBody = 1 << 20

// jsonAPI describes one JSON API family: the version it implements and its error codes,
// which differ between families (vapix.md section 2).
type jsonAPI struct {
	version       string // newest implemented, e.g. "1.3"
	omitMethod    bool   // basicdeviceinfo leaves "method" out of its replies
	badJSON       int    // code for a body that is not JSON
	badMethod     int    // unknown method
	badVersion    int    // unsupported major version
	notPost       int    // anything but POST (0: accepted)
	badParams     int    // invalid or missing params
	badJSONText   string
	badMethodText string
	// authFirst: a request without credentials that is not a valid anonymous call is
	// challenged rather than answered with an error, so that clients which probe with an
	// empty body (curl --digest) authenticate.
	authFirst bool
}

var (
	apiBasicDeviceInfo = jsonAPI{version: "1.3", omitMethod: true, authFirst: true, badMethodText: "Method not supported", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 4002, badJSONText: "Invalid JSON"}
	apiDiscovery       = jsonAPI{version: "1.1", badJSON: 4000, badMethod: 2004, badVersion: 2003, notPost: 2002, badParams: 4002, badJSONText: "Invalid JSON", badMethodText: "Method not supported"}
	apiFirmware        = jsonAPI{version: "1.10", badJSON: 400, badMethod: 405, badVersion: 417, badParams: 400, badJSONText: "Bad request", badMethodText: "Unknown method in request."}
	apiSystemReady     = jsonAPI{version: "1.5", badJSON: 1000, badMethod: 1000, badVersion: 1000, badParams: 1000, badJSONText: "Invalid JSON input", badMethodText: "Invalid JSON input"}
	apiOAK             = jsonAPI{version: "1.0", badJSON: 1000, badMethod: 1000, badVersion: 1000, badParams: 1000, badJSONText: "Invalid JSON input", badMethodText: "Method not supported"}
	apiOverlay         = jsonAPI{version: "1.8", badJSON: 1000, badMethod: 1000, badVersion: 1000, badParams: 1000, badJSONText: "Invalid parameter", badMethodText: "Method not supported"}
)

// readJSON decodes a JSON API request, answering the family's error itself when the
// request is not one it can handle. getSupportedVersions needs no apiVersion.
func (q *request) readJSON(api jsonAPI) (jsonRequest, bool) {
	var req jsonRequest
	if q.r.Method != http.MethodPost && api.notPost != 0 {
		q.jsonError(api, req, api.notPost, "HTTP request type not supported")
		return req, false
	}
	body, err := io.ReadAll(io.LimitReader(q.r.Body, maxJSONBody+1))
	if err != nil || len(body) > maxJSONBody {
		q.jsonError(api, req, api.badJSON, api.badJSONText)
		return req, false
	}
	if err := json.Unmarshal(body, &req); err != nil {
		if api.authFirst && q.auth != authOK {
			q.challenge()
			return req, false
		}
		q.jsonError(api, req, api.badJSON, api.badJSONText)
		return req, false
	}
	if req.Method == "getSupportedVersions" {
		return req, true
	}
	major, _, _ := strings.Cut(req.APIVersion, ".")
	wantMajor, _, _ := strings.Cut(api.version, ".")
	if req.APIVersion == "" || major != wantMajor {
		q.jsonError(api, req, api.badVersion, "The requested API version is not supported")
		return req, false
	}
	return req, true
}

// jsonData answers a successful call.
func (q *request) jsonData(api jsonAPI, req jsonRequest, data any) {
	reply := jsonReply{APIVersion: api.version, Context: req.Context, Method: req.Method, Data: data}
	if api.omitMethod {
		reply.Method = ""
	}
	q.json(reply)
}

// jsonError answers an error the Axis way: HTTP 200 with an error object.
func (q *request) jsonError(api jsonAPI, req jsonRequest, code int, msg string) {
	reply := jsonReply{APIVersion: api.version, Context: req.Context, Method: req.Method, Error: &jsonError{Code: code, Message: msg}}
	if api.omitMethod {
		reply.Method = ""
	}
	q.json(reply)
}

// supportedVersions answers getSupportedVersions.
func (q *request) supportedVersions(api jsonAPI, req jsonRequest) {
	reply := jsonReply{APIVersion: api.version, Context: req.Context, Method: req.Method,
		Data: map[string]any{"apiVersions": []string{api.version}}}
	if api.omitMethod {
		reply.Method = ""
	}
	q.json(reply)
}

// params decodes the request's params into v; false (and the error answered) when they
// do not fit.
func (q *request) params(api jsonAPI, req jsonRequest, v any) bool {
	if len(req.Params) == 0 {
		return true
	}
	if err := json.Unmarshal(req.Params, v); err != nil {
		q.jsonError(api, req, api.badParams, "Invalid parameter")
		return false
	}
	return true
}

// serveJSON answers a JSON API call with the handler of its method; getSupportedVersions,
// malformed requests and unknown methods are answered here, the same way for every API.
func (q *request) serveJSON(api jsonAPI, methods map[string]func(jsonRequest)) {
	req, ok := q.readJSON(api)
	if !ok {
		return
	}
	if req.Method == "getSupportedVersions" {
		q.supportedVersions(api, req)
		return
	}
	h, ok := methods[req.Method]
	if !ok {
		q.jsonError(api, req, api.badMethod, api.badMethodText)
		return
	}
	h(req)
}
