package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/auth"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// The tests below run the API with a stand-in for the agent link (an http.RoundTripper
// that answers as an agent would), to reach the cases an end-to-end run cannot time:
// a caller leaving mid-stream, a query only some parsers read one way.

// fakeAgents is the agent link: it answers every request with answer and records it.
type fakeAgents struct {
	mu     sync.Mutex
	seen   []*http.Request
	answer func(*http.Request) (*http.Response, error)
}

func (f *fakeAgents) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.seen = append(f.seen, r)
	f.mu.Unlock()
	return f.answer(r)
}

type auditRec struct {
	mu      sync.Mutex
	entries []store.AuditEntry
}

func (a *auditRec) Record(e store.AuditEntry) {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	a.mu.Unlock()
}
func (a *auditRec) list() []store.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]store.AuditEntry(nil), a.entries...)
}

type edgeWorld struct {
	srv         *httptest.Server
	agents      *fakeAgents
	audit       *auditRec
	org, serial string
	admin, op   string // tokens
}

func newEdgeWorld(t *testing.T) *edgeWorld {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "relay.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hasher := auth.NewHasher(relaytest.FastParams, 1)
	ew := &edgeWorld{agents: &fakeAgents{answer: func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), ContentLength: 2, Request: r}, nil
	}}, audit: &auditRec{}}
	h, err := api.New(api.Config{Store: st, Hasher: hasher, Agents: ew.agents, Audit: ew.audit})
	if err != nil {
		t.Fatal(err)
	}
	ew.srv = httptest.NewServer(h)
	t.Cleanup(ew.srv.Close)
	hash, _ := hasher.Hash(ctx, "pw-pw-pw-pw")
	adm, err := st.CreateUser(ctx, "a@example.com", hash)
	if err != nil {
		t.Fatal(err)
	}
	opu, err := st.CreateUser(ctx, "o@example.com", hash)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.CreateOrg(ctx, "A", adm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMember(ctx, org.ID, opu.ID, role.Operator); err != nil {
		t.Fatal(err)
	}
	_, th := auth.NewSecret(auth.PrefixEnrollmentToken)
	eh, err := st.CreateEdgeHost(ctx, org.ID, "site", th, st.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ew.org, ew.serial = org.ID, "ACCC8E000001"
	if _, err := st.OnboardDevice(ctx, org.ID, eh.ID, ew.serial, adm.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReportDevices(ctx, org.ID, eh.ID, []linkapi.DeviceReport{{Serial: ew.serial, Reachable: true}}); err != nil {
		t.Fatal(err)
	}
	ew.admin, ew.op = ew.login(t, "a@example.com"), ew.login(t, "o@example.com")
	return ew
}

func (ew *edgeWorld) login(t *testing.T, email string) string {
	t.Helper()
	res, err := http.PostForm(ew.srv.URL+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {"pw-pw-pw-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login %s: %d %v", email, res.StatusCode, err)
	}
	return tok.AccessToken
}

// call makes a request with token ("" for none) and returns the answer's status.
func (ew *edgeWorld) call(t *testing.T, method, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (ew *edgeWorld) vapix(path string) string {
	return ew.srv.URL + "/api/v1/orgs/" + ew.org + "/devices/" + ew.serial + "/vapix/" + path
}

// An operator may only list parameters; a query that also says action=update (or hides
// a pair behind a ';') must not pass, whichever value the device's parser takes.
func TestOperatorParamListIsUnambiguous(t *testing.T) {
	ew := newEdgeWorld(t)
	for _, q := range []string{"action=list&group=Brand", "action=list&group=root.Image.I0,Properties.Firmware,PTZ"} {
		if got := ew.call(t, "GET", ew.vapix("axis-cgi/param.cgi?"+q), ew.op); got != http.StatusOK {
			t.Errorf("operator GET param.cgi?%s: %d, want 200", q, got)
		}
	}
	for _, q := range []string{
		"action=list&action=update&root.Image.I0.Appearance.Resolution=640x360",
		"action=list&x=1;action=update&root.Image.I0.Appearance.Resolution=640x360",
		"action=list&%61ction=remove&group=root.Image.I1",
		"action=list",               // every group, Network and System included
		"action=list&group=Network", // admins' groups
		"action=list&group=Brand,root.System.BoaPort",
		"action=list&group=Brand&Group=Network", // a second group key another parser may read
	} {
		if got := ew.call(t, "GET", ew.vapix("axis-cgi/param.cgi?"+q), ew.op); got != http.StatusForbidden {
			ew.agents.mu.Lock()
			fwd := ew.agents.seen[len(ew.agents.seen)-1].URL.RawQuery
			ew.agents.mu.Unlock()
			t.Errorf("operator GET param.cgi?%s: %d, forwarded to the agent with query %q; want 403", q, got, fwd)
		}
	}
}

// A stream the caller stops reading (an MJPEG viewer closing its tab) must still be in
// the audit log.
func TestAuditWhenCallerLeavesMidStream(t *testing.T) {
	ew := newEdgeWorld(t)
	ew.agents.answer = func(r *http.Request) (*http.Response, error) {
		pr, pw := io.Pipe()
		go func() {
			defer pw.Close()
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					pw.CloseWithError(r.Context().Err())
					return
				case <-time.After(10 * time.Millisecond):
				}
				if _, err := fmt.Fprintf(pw, "--frame\r\nContent-Type: image/jpeg\r\n\r\nframe %d\r\n", i); err != nil {
					return
				}
			}
		}()
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"multipart/x-mixed-replace; boundary=frame"}},
			Body: pr, ContentLength: -1, Request: r}, nil
	}
	u, _ := url.Parse(ew.vapix("axis-cgi/mjpg/video.cgi"))
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", u.RequestURI(), u.Host, ew.op)
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.Contains(line, "200") {
		t.Fatalf("stream: %q", line)
	}
	for frames := 0; frames < 3; { // the viewer watches a few frames
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream after %d frames: %v", frames, err)
		}
		if strings.HasPrefix(line, "--frame") {
			frames++
		}
	}
	c.Close() // the viewer goes away
	testtool.WaitFor(t, 3*time.Second, "the MJPEG stream the operator watched in the audit log", func() bool { return len(ew.audit.list()) > 0 })
	entries := ew.audit.list()
	if e := entries[0]; e.Status != 200 || e.Path != "/axis-cgi/mjpg/video.cgi" || e.Serial != ew.serial || e.Bytes == 0 || e.Principal == "" {
		t.Errorf("audit entry of the stream: %+v", e)
	}
}

// A call the relay refuses itself (an operator trying a settings path, a device that is
// not there) is a call too; a caller without a token writes nothing to the log.
func TestAuditOfRefusedCalls(t *testing.T) {
	ew := newEdgeWorld(t)
	if got := ew.call(t, "POST", ew.vapix("axis-cgi/pwdgrp.cgi?action=add&user=x&pwd=y&grp=users&sgrp=admin"), ew.op); got != http.StatusForbidden {
		t.Fatalf("operator adding a user: %d", got)
	}
	unknown := strings.Replace(ew.vapix("axis-cgi/basicdeviceinfo.cgi"), ew.serial, "ACCC8E0000FF", 1)
	if got := ew.call(t, "GET", unknown, ew.admin); got != http.StatusNotFound {
		t.Fatalf("unknown device: %d", got)
	}
	if got := ew.call(t, "GET", ew.vapix("axis-cgi/basicdeviceinfo.cgi"), ""); got != http.StatusUnauthorized {
		t.Fatalf("no token: %d", got)
	}
	entries := ew.audit.list()
	if len(entries) != 2 {
		t.Fatalf("audit entries %+v, want the two refused calls of members", entries)
	}
	if e := entries[0]; e.Status != 403 || e.Method != "POST" || e.Path != "/axis-cgi/pwdgrp.cgi" || e.Serial != ew.serial {
		t.Errorf("refused operator call: %+v", e)
	}
	if e := entries[1]; e.Status != 404 || e.Serial != "ACCC8E0000FF" {
		t.Errorf("call to an unknown device: %+v", e)
	}
}

// answer is a request's status, problem type (if any) and the number of requests the
// agent link carried for it.
func (ew *edgeWorld) answer(t *testing.T, method, url, token string) (status int, problemType string, forwarded int) {
	t.Helper()
	ew.agents.mu.Lock()
	before := len(ew.agents.seen)
	ew.agents.mu.Unlock()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pb struct {
		Type string `json:"type"`
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		_ = json.NewDecoder(res.Body).Decode(&pb)
	}
	ew.agents.mu.Lock()
	defer ew.agents.mu.Unlock()
	return res.StatusCode, pb.Type, len(ew.agents.seen) - before
}

// An operator lists named groups other than the admins' ones, in whatever spelling the
// device takes for the same group: a bare root (the whole tree), the root. prefix in any
// case, the group's name in any case, empty elements, wildcards and anything else that
// is not a plain group name are refused before they reach the agent.
func TestOperatorParamGroupsAreCanonical(t *testing.T) {
	ew := newEdgeWorld(t)
	for _, g := range []string{
		"root", "ROOT", "Root", "Brand,root", "root,Brand", "Brand,ROOT",
		"root.", "root.root", "root.root.Network", "root.Root.System",
		"root.Network", "root.network", "ROOT.NETWORK", "network", "NETWORK.HostName", "system", "root.System.BoaPort",
		"Brand,,Network", "Brand,", ",Brand", "Brand,,", "",
		"*", "root.*", "Image.*", "Brand*", "Net*", "Image.I0.*",
		"%20Network", "Brand,%20root", "Brand%00", "Brand.", ".Brand", "Brand..Name", "root..Network",
		"Brand;Network", "Brand%2CNetwork", "Brand/Network", "%52oot",
	} {
		q := "action=list&group=" + g
		status, typ, fwd := ew.answer(t, "GET", ew.vapix("axis-cgi/param.cgi?"+q), ew.op)
		if status != http.StatusForbidden || typ != "https://camcloud.dev/problems/forbidden" || fwd != 0 {
			t.Errorf("operator GET param.cgi?%s: %d %q, %d requests to the agent; want 403 forbidden and none", q, status, typ, fwd)
		}
	}
	for _, g := range []string{"Brand", "root.Brand", "ROOT.Brand", "Image,Brand", "root.Image.I0,Properties.Firmware,PTZ", "Image.I0.Appearance.Resolution", "StreamProfile.S0"} {
		q := "action=list&group=" + g
		if status, _, fwd := ew.answer(t, "GET", ew.vapix("axis-cgi/param.cgi?"+q), ew.op); status != http.StatusOK || fwd != 1 {
			t.Errorf("operator GET param.cgi?%s: %d, %d requests to the agent; want 200 and one", q, status, fwd)
		}
	}
}

// The path an EdgeLink call names is checked once, by the rule the agent applies
// (linkapi.CheckSubPath): an encoded slash or backslash, dot segments (plain or
// encoded), empty segments and double encoding are refused at the relay for every role,
// and what passes is forwarded as the caller escaped it. (Plain "." segments and "//"
// never reach the handler: the router redirects them to the clean path.)
func TestEdgeLinkPathRefusedAtTheRelay(t *testing.T) {
	ew := newEdgeWorld(t)
	for _, p := range []string{
		"axis-cgi%2fpwdgrp.cgi", "axis-cgi%2Fpwdgrp.cgi", "axis-cgi%5cpwdgrp.cgi", "axis-cgi%5Cpwdgrp.cgi",
		"axis-cgi/%2e%2e/axis-cgi/pwdgrp.cgi", "axis-cgi/%2E%2E/pwdgrp.cgi", "axis-cgi/%2e/pwdgrp.cgi", "axis-cgi/pwdgrp.cgi%252f", "axis-cgi/pwdgrp.cgi%00", "axis-cgi/pwd%25zzgrp.cgi",
		"http:%2f%2f127.0.0.1:1/x",
	} {
		for _, who := range []struct{ name, token string }{{"admin", ew.admin}, {"operator", ew.op}} {
			status, typ, fwd := ew.answer(t, "GET", ew.vapix(p), who.token)
			if status != http.StatusBadRequest || typ != "https://camcloud.dev/problems/vapix-path-refused" || fwd != 0 {
				t.Errorf("%s GET vapix/%s: %d %q, %d requests to the agent; want 400 vapix-path-refused and none", who.name, p, status, typ, fwd)
			}
		}
	}
	vms := ew.srv.URL + "/api/v1/orgs/" + ew.org + "/edgehosts/eh_x/vms/recorder/"
	if status, typ, fwd := ew.answer(t, "GET", vms+"api%2f..%2fsecret", ew.admin); status != http.StatusBadRequest || fwd != 0 {
		t.Errorf("admin GET vms/recorder/api%%2f..%%2fsecret: %d %q, %d requests to the agent; want 400 and none", status, typ, fwd)
	}
	if status, _, fwd := ew.answer(t, "GET", ew.vapix("axis-cgi/basicdeviceinfo%2Ecgi"), ew.op); status != http.StatusOK || fwd != 1 {
		t.Fatalf("operator GET an escaped device info path: %d, %d requests to the agent", status, fwd)
	}
	ew.agents.mu.Lock()
	got := ew.agents.seen[len(ew.agents.seen)-1].URL.EscapedPath()
	ew.agents.mu.Unlock()
	if want := linkapi.EdgeLinkPrefix + ew.serial + "/vapix/axis-cgi/basicdeviceinfo%2Ecgi"; got != want {
		t.Errorf("forwarded path %q, want %q (as the caller escaped it)", got, want)
	}
}
