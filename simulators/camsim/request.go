package camsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxFormBody bounds CGI arguments read from a request body.
const maxFormBody = 1 << 20

// request is one VAPIX call being answered.
type request struct {
	cam  *Camera
	w    http.ResponseWriter
	r    *http.Request
	user User       // valid only when auth == authOK
	auth authResult // what the Authorization header proved
	form url.Values // CGI arguments, parsed once
}

// ServeHTTP answers VAPIX like an Axis device's web server: faults first, then the route,
// then authentication and the endpoint's minimum privilege.
func (c *Camera) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.counters.request(r.URL.Path)
	h := w.Header()
	h.Set("Server", "Apache/2.4.68 (Unix) OpenSSL/3.5.7")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-XSS-Protection", "1; mode=block")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")

	f := c.faults.get()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if chance(f.DropRate) {
		dropConnection(w)
		return
	}
	if chance(f.ErrorRate) {
		apacheError(w, http.StatusInternalServerError, "Internal Server Error",
			"The server encountered an internal error or misconfiguration and was unable to complete your request.")
		return
	}

	rt, ok := routes[r.URL.Path]
	if !ok {
		apacheError(w, http.StatusNotFound, "Not Found", "The requested URL was not found on this server.")
		return
	}
	q := &request{cam: c, w: w, r: r}
	q.user, q.auth = c.authenticate(r)
	if q.auth == authOK {
		c.noteLogin(q.user, r)
	}
	if rt.min > Anonymous && !q.require(rt.min, rt.json) {
		return
	}
	rt.handle(c, q)
}

func (c *Camera) authenticate(r *http.Request) (User, authResult) {
	basic, digest := c.authSchemes(r)
	if _, _, isBasic := r.BasicAuth(); isBasic {
		if basic {
			return verifyBasic(r, c.lookupUser)
		}
		return User{}, authNone
	}
	if !digest {
		return User{}, authNone
	}
	return c.auth.Verify(r, c.lookupUser)
}

// require checks that the caller has at least privilege min and answers for it when not:
// 401 with a fresh challenge without valid credentials; for a valid but under-privileged
// account, 401 on legacy CGIs and 403 on JSON APIs (vapix.md 1.3, a simulator choice).
func (q *request) require(min Privilege, jsonAPI bool) bool {
	if q.auth == authOK && q.user.Level() >= min {
		return true
	}
	if q.auth == authOK && jsonAPI {
		q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
		q.w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(q.w, `{"error":{"code":2001,"message":"Access forbidden"}}`+"\n")
		return false
	}
	q.challenge()
	return false
}

// requirePTZ lets operators and PTZ-group accounts through (vapix.md 1.3).
func (q *request) requirePTZ() bool {
	if q.auth == authOK && (q.user.Level() >= Operator || q.user.Level() >= Viewer && q.user.InGroup("ptz")) {
		return true
	}
	if q.auth == authOK {
		q.challenge()
		return false
	}
	return q.require(Operator, false)
}

// challenge answers 401 with a Digest challenge (stale=true when the nonce expired).
func (q *request) challenge() {
	q.cam.counters.unauthorized.Add(1)
	h := q.w.Header()
	basic, digest := q.cam.authSchemes(q.r)
	if digest {
		h.Set("WWW-Authenticate", q.cam.auth.Challenge(q.auth == authStale))
	}
	if basic {
		h.Add("WWW-Authenticate", fmt.Sprintf(`Basic realm="%s"`, q.cam.id.Realm()))
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	q.w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(q.w, `{"error":{"code":401,"message":"Unauthorized"}}`+"\n")
}

// args returns the CGI arguments: the query string merged with a form-encoded body,
// whatever Content-Type the body claims, as Axis CGIs accept both.
func (q *request) args() url.Values {
	if q.form != nil {
		return q.form
	}
	q.form = url.Values{}
	if v, err := url.ParseQuery(q.r.URL.RawQuery); err == nil {
		q.form = v
	}
	if q.r.Body != nil && (q.r.Method == http.MethodPost || q.r.Method == http.MethodPut) {
		b, err := io.ReadAll(io.LimitReader(q.r.Body, maxFormBody))
		if err == nil {
			if v, err := url.ParseQuery(string(b)); err == nil {
				for k, vs := range v {
					q.form[k] = append(q.form[k], vs...)
				}
			}
		}
	}
	return q.form
}

// text answers a legacy CGI with a text/plain body.
func (q *request) text(status int, body string) {
	q.w.Header().Set("Content-Type", "text/plain")
	q.w.WriteHeader(status)
	_, _ = io.WriteString(q.w, body)
}

// jsonReply is the envelope of every JSON API answer (vapix.md section 2).
type jsonReply struct {
	APIVersion string     `json:"apiVersion"`
	Context    *string    `json:"context,omitempty"`
	Method     string     `json:"method,omitempty"`
	Data       any        `json:"data,omitempty"`
	Error      *jsonError `json:"error,omitempty"`
}

type jsonError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// jsonRequest is the envelope of every JSON API request.
type jsonRequest struct {
	APIVersion string          `json:"apiVersion"`
	Context    *string         `json:"context,omitempty"`
	Method     string          `json:"method"`
	Params     json.RawMessage `json:"params,omitempty"`
}

// json answers a JSON API call with HTTP 200, as Axis devices do for errors too.
func (q *request) json(v any) {
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(q.w).Encode(v)
}

// apacheError answers like Apache httpd does for errors outside any CGI.
func apacheError(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>%d %s</title>\n</head><body>\n<h1>%s</h1>\n<p>%s</p>\n</body></html>\n",
		status, title, title, detail)
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
