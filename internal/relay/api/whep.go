package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
)

// WHEP (RFC 9725): live video of a device. The relay checks the caller and the offer,
// and carries the signaling over the agent link to the agent that manages the device
// (linkapi.WHEPPrefix), whose publisher answers; the media then flows between the agent
// and the viewer directly (or through TURN), never through these routes. The relay keeps
// no session state: the session resource names the device, so a PATCH or DELETE finds
// the agent again, and the agent binds the session to the caller who started it.
const (
	whepPattern        = "/api/v1/orgs/{org}/devices/{serial}/whep"
	whepSessionPattern = whepPattern + "/{session}"
	maxWHEPBody        = 64 << 10 // an SDP offer or trickle fragment
	whepCallTimeout    = 30 * time.Second
)

// whepCORS lets WHEP players on other origins call the WHEP routes: they authenticate
// with bearer tokens, not cookies, so any origin may; they need to read Location (and
// the ETag-less answer) and to send Authorization and Content-Type.
func whepCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, Link, X-Request-ID")
}

// whepOptions answers CORS preflight (and plain OPTIONS) on the WHEP resources.
func (a *API) whepOptions(w http.ResponseWriter, r *http.Request) error {
	methods := "POST, OPTIONS"
	if r.PathValue("session") != "" {
		methods = "PATCH, DELETE, OPTIONS"
	}
	h := w.Header()
	h.Set("Allow", methods)
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "600")
	if r.PathValue("session") == "" {
		h.Set("Accept-Post", "application/sdp")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// whepOffer is POST .../whep: the viewer's SDP offer in, the agent's answer out, 201 with
// the session's Location. Every session started (or refused by the agent) is audited.
func (a *API) whepOffer(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if !hasMediaType(r, "application/sdp") {
		return problem.New(problem.UnsupportedMediaType, "a WHEP offer is Content-Type: application/sdp")
	}
	q, err := query(r, "profile")
	if err != nil {
		return err
	}
	profile := q.Get("profile")
	if !linkapi.ValidStreamProfile(profile) {
		return problem.Invalid("profile", "a stream profile name: up to 64 letters, digits, '-', '_' or '.'")
	}
	offer, err := io.ReadAll(r.Body)
	if err != nil {
		return problem.Newf(problem.TooLarge, "an SDP offer is at most %d bytes", maxWHEPBody)
	}
	if !looksLikeSDP(offer) {
		return problem.New(problem.BadSDP, "the body is not an SDP offer (it starts with v=0 and has an m=video section)")
	}
	d, err := a.store.DeviceRoute(r.Context(), p.Org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	agent := d.Agent()
	if agent == "" {
		return problem.New(problem.Conflict, "no agent manages this device (light integration); live video comes from its agent")
	}
	out := url.Values{}
	if profile != "" {
		out.Set("profile", profile)
	}
	start := time.Now()
	resp, err := a.whepCall(r, http.MethodPost, agent, d.Serial, "application/sdp", offer, out)
	if err != nil {
		a.auditLive(r, d.Serial, statusOf(err), start)
		return err
	}
	defer resp.Body.Close()
	a.auditLive(r, d.Serial, resp.StatusCode, start)
	if resp.StatusCode != http.StatusCreated {
		return passOn(w, resp)
	}
	id := resp.Header.Get(linkapi.WHEPSessionHeader)
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxWHEPBody))
	if err != nil || id == "" {
		return problem.Newf(problem.AgentError, "agent %s broke off its answer", agent)
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", "/api/v1/orgs/"+url.PathEscape(p.Org)+"/devices/"+url.PathEscape(d.Serial)+"/whep/"+url.PathEscape(id))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(answer)
	return nil
}

// whepPatch is PATCH on a session: trickled ICE candidates, passed to the agent.
func (a *API) whepPatch(w http.ResponseWriter, r *http.Request) error {
	if !hasMediaType(r, "application/trickle-ice-sdpfrag") {
		return problem.New(problem.UnsupportedMediaType, "trickle ICE is Content-Type: application/trickle-ice-sdpfrag")
	}
	frag, err := io.ReadAll(r.Body)
	if err != nil {
		return problem.Newf(problem.TooLarge, "an SDP fragment is at most %d bytes", maxWHEPBody)
	}
	return a.whepSession(w, r, http.MethodPatch, "application/trickle-ice-sdpfrag", frag)
}

// whepDelete is DELETE on a session: the viewer leaves.
func (a *API) whepDelete(w http.ResponseWriter, r *http.Request) error {
	return a.whepSession(w, r, http.MethodDelete, "", nil)
}

// whepSession carries a request on a session resource to the device's agent.
func (a *API) whepSession(w http.ResponseWriter, r *http.Request, method, ctype string, body []byte) error {
	p := PrincipalFrom(r.Context())
	d, err := a.store.DeviceRoute(r.Context(), p.Org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	agent := d.Agent()
	if agent == "" {
		return problem.New(problem.NotFound, "no such live session")
	}
	resp, err := a.whepCall(r, method, agent, d.Serial+"/"+url.PathEscape(r.PathValue("session")), ctype, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return passOn(w, resp)
}

// whepCall makes one signaling request to the agent over its link, naming the caller.
func (a *API) whepCall(r *http.Request, method, agent, sub, ctype string, body []byte, q url.Values) (*http.Response, error) {
	if a.cfg.Agents == nil {
		return nil, problem.New(problem.AgentOffline, "this relay does not reach agents")
	}
	ctx := r.Context()
	u := url.URL{Scheme: "http", Host: edgelink.AgentHost(agent), Path: linkapi.WHEPPrefix + sub, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	// The request is made here, not forwarded: nothing the caller sent names them or
	// their role to the agent. The role decides what the session may do besides video
	// (PTZ: operators and up).
	p := PrincipalFrom(ctx)
	req.Header.Set(linkapi.PrincipalHeader, p.Subject())
	req.Header.Set(linkapi.RoleHeader, p.Role.String())
	hc := &http.Client{Transport: a.cfg.Agents, Timeout: whepCallTimeout}
	resp, err := hc.Do(req)
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, edgelink.ErrAgentOffline):
		return nil, problem.Newf(problem.AgentOffline, "agent %s is not connected", agent)
	}
	return nil, problem.Newf(problem.AgentError, "the link to agent %s failed during the request", agent)
}

// passOn sends the agent's answer (a problem, or another status) on to the caller.
func passOn(w http.ResponseWriter, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxWHEPBody))
	for _, k := range []string{"Content-Type", "Retry-After"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(b)
	return nil
}

// auditLive records a live session started, or refused past the relay's own checks.
func (a *API) auditLive(r *http.Request, serial string, status int, start time.Time) {
	if a.cfg.Audit == nil {
		return
	}
	p := PrincipalFrom(r.Context())
	path := "/whep"
	if pr := r.URL.Query().Get("profile"); pr != "" {
		path += "?profile=" + pr
	}
	a.cfg.Audit.Record(store.AuditEntry{At: start.UTC(), Org: p.Org, Principal: p.Subject(), Action: "live", Serial: serial,
		Method: r.Method, Path: path, Status: status, Duration: time.Since(start)})
}

// statusOf is the status a problem error answers with.
func statusOf(err error) int {
	var pb *problem.Problem
	if errors.As(err, &pb) {
		return pb.Status
	}
	return http.StatusInternalServerError
}

// hasMediaType reports whether the request's Content-Type is want (parameters aside).
func hasMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// looksLikeSDP is the relay's cheap check of an offer before it goes over the link: an
// SDP session description (v=0 first) with a video media section. The agent parses it.
func looksLikeSDP(b []byte) bool {
	s := string(b)
	return (strings.HasPrefix(s, "v=0\r\n") || strings.HasPrefix(s, "v=0\n")) && strings.Contains(s, "\nm=video ")
}
