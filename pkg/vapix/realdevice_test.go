package vapix_test

// Fake servers that answer as vapix.md describes a real Axis device where camsim makes a
// different choice or none: the client must work with both.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/icholy/digest"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// vapix.md 1.3: a JSON API may refuse an under-privileged account with error 2001
// "Access forbidden" in an HTTP 200 (camsim answers 403). Codes are per API family
// (vapix.md 2): 2001 is "access forbidden" for basicdeviceinfo and apidiscovery only.
func TestRealJSONAccessForbiddenIsErrForbidden(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"1.3","error":{"code":2001,"message":"Access forbidden"}}`)
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "viewer", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.DeviceInfo(ctx); !errors.Is(err, vapix.ErrForbidden) {
		t.Errorf("basicdeviceinfo error 2001 in HTTP 200: %v, want errors.Is ErrForbidden", err)
	}
	if _, err := c.APIs(ctx); !errors.Is(err, vapix.ErrForbidden) {
		t.Errorf("apidiscovery error 2001 in HTTP 200: %v, want errors.Is ErrForbidden", err)
	}
	var ve *vapix.Error
	if _, err := c.FirmwareStatus(ctx); errors.Is(err, vapix.ErrForbidden) || !errors.As(err, &ve) || ve.Code != 2001 {
		t.Errorf("fwmgr error 2001 (not in its code table): %v, want a plain *vapix.Error", err)
	}
}

// vapix.md 10 [V rec 10.12]: AXIS OS 10.12 lists every Linux group, one of them without
// quotes: root="", audio="...", users=, anonymous="".
func TestRealPwdgrpUnquotedEmptyGroup(t *testing.T) {
	g, err := vapix.ParseUsers("root=\"\"\r\naudio=\"root,sdk\"\r\nusers=\r\nanonymous=\"\"\r\n")
	if err != nil || len(g["audio"]) != 2 || len(g["users"]) != 0 || len(g) != 4 {
		t.Fatalf("10.12 listing with users=: %v, %v", g, err)
	}
}

// fakeDigest is an Axis-like Digest server (vapix.md 1.1): MD5, qop="auth", realm
// AXIS_<serial>, a nonce valid 300 s of the device's clock from its issue, then answered
// with 401 stale=true.
type fakeDigest struct {
	mu     sync.Mutex
	now    time.Duration // the device's clock, moved by the test
	nonces map[string]time.Duration
	n      int
}

func (d *fakeDigest) setClock(now time.Duration) {
	d.mu.Lock()
	d.now = now
	d.mu.Unlock()
}

func (d *fakeDigest) challenge(w http.ResponseWriter, stale bool) {
	d.mu.Lock()
	d.n++
	nonce := fmt.Sprintf("%012d%040x", d.n, d.n)
	d.nonces[nonce] = d.now
	d.mu.Unlock()
	c := `Digest realm="AXIS_B8A44F631339", nonce="` + nonce + `", algorithm=MD5, qop="auth"`
	if stale {
		c += ", stale=true"
	}
	w.Header().Set("WWW-Authenticate", c)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
}

// ok reports whether r carries valid credentials, answering 401 when not.
func (d *fakeDigest) ok(w http.ResponseWriter, r *http.Request) bool {
	cred, err := digest.ParseCredentials(r.Header.Get("Authorization"))
	if err != nil {
		d.challenge(w, false)
		return false
	}
	h := func(s string) string { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }
	want := h(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", h("root:AXIS_B8A44F631339:pass"), cred.Nonce, cred.Nc, cred.Cnonce, h(r.Method+":"+cred.URI)))
	d.mu.Lock()
	issued, known := d.nonces[cred.Nonce]
	age := d.now - issued
	d.mu.Unlock()
	switch {
	case !known || cred.Response != want:
		d.challenge(w, false)
		return false
	case age >= 300*time.Second:
		d.challenge(w, true)
		return false
	}
	return true
}

// A streamed upload shortly after a successful call, on a nonce that expired in between
// (a nonce ages from its issue, not its last use): the device answers 401 stale=true,
// which a body that cannot be resent would not survive. Each upload reaches the device
// once, whole.
func TestRealStaleNonceDuringUploads(t *testing.T) {
	d := &fakeDigest{nonces: map[string]time.Duration{}}
	var mu sync.Mutex
	var bodies []int // sizes of the upload bodies the device took
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.ok(w, r) {
			return
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			n, _ := io.Copy(io.Discard, r.Body)
			mu.Lock()
			bodies = append(bodies, int(n))
			mu.Unlock()
		}
		switch r.URL.Path {
		case "/axis-cgi/firmwaremanagement.cgi":
			w.Header().Set("Content-Type", "application/json")
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				io.WriteString(w, `{"apiVersion":"1.10","method":"upgrade","data":{"firmwareVersion":"12.11.77"}}`)
				return
			}
			io.WriteString(w, `{"apiVersion":"1.10","method":"status","data":{"activeFirmwareVersion":"12.10.1","activeFirmwarePart":"1"}}`)
		case "/axis-cgi/applications/list.cgi":
			io.WriteString(w, `<reply result="ok"></reply>`)
		case "/axis-cgi/applications/upload.cgi":
			io.WriteString(w, "OK\n")
		}
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	img := bytes.Repeat([]byte{0xAB}, 64<<10)

	if _, err := c.FirmwareStatus(ctx); err != nil { // nonce issued at device time 0
		t.Fatal(err)
	}
	d.setClock(299 * time.Second)
	if _, err := c.FirmwareStatus(ctx); err != nil { // still good, and just used
		t.Fatal(err)
	}
	d.setClock(301 * time.Second) // the nonce expires before the upload
	if v, err := c.UpgradeFirmware(ctx, bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{}, nil); err != nil || v != "12.11.77" {
		t.Fatalf("firmware upload on a nonce that went stale: %q, %v", v, err)
	}

	if _, err := c.Apps(ctx); err != nil { // a nonce issued at 301 s
		t.Fatal(err)
	}
	d.setClock(601 * time.Second)
	if err := c.InstallApp(ctx, "app.eap", bytes.NewReader(img)); err != nil {
		t.Fatalf("application upload on a nonce that went stale: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] <= len(img) || bodies[1] <= len(img) {
		t.Fatalf("the device took upload bodies of %v bytes, want two, each with the whole %d-byte file", bodies, len(img))
	}
}

// rebootingDevice answers systemready as a device that reboots when fwmgr's reboot is
// called: it goes on answering from the old boot for a few questions (a real device goes
// down some seconds after it agreed), then is unavailable (or not ready) for a few, then
// answers from the new boot. Counting questions, not time, keeps the test fast and exact.
type rebootingDevice struct {
	old, new  string // systemready data of the old and the new boot
	notReady  bool   // while rebooting, answer "not ready" rather than drop the connection
	downFor   int    // questions answered so between the old and the new boot
	mu        sync.Mutex
	rebooted  bool
	asked     int  // questions since the reboot
	servedNew bool // an answer of the new boot went out
}

func (d *rebootingDevice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.URL.Path == "/axis-cgi/firmwaremanagement.cgi" {
		d.rebooted = true
		io.WriteString(w, `{"apiVersion":"1.10","method":"reboot","data":{}}`)
		return
	}
	data := d.old
	if d.rebooted {
		d.asked++
		const oldAnswers = 1
		switch {
		case d.asked <= oldAnswers:
		case d.asked <= oldAnswers+d.downFor:
			if d.notReady {
				data = `{"systemready":"no","needsetup":"no"}`
				break
			}
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		default:
			d.servedNew = true
			data = d.new
		}
	}
	io.WriteString(w, `{"apiVersion":"1.2","method":"systemready","data":`+data+`}`)
}

// The agent's reboot flow (firmware upgrade, restart): SystemReady, the call that
// reboots, then WaitRebooted with the first answer. It must not take an answer of the
// old boot for the new one, whatever the firmware reports (vapix.md 7: API 1.2 has
// neither bootid nor uptime).
func TestRealWaitRebooted(t *testing.T) {
	t.Parallel() // each case waits out polls: run them side by side
	for _, tc := range []struct {
		name string
		dev  *rebootingDevice
	}{
		{"no boot ID or uptime, unavailable while rebooting", &rebootingDevice{
			old: `{"systemready":"yes","needsetup":"no"}`, new: `{"systemready":"yes","needsetup":"no"}`, downFor: 1}},
		{"no boot ID or uptime, not ready while rebooting", &rebootingDevice{
			old: `{"systemready":"yes","needsetup":"no"}`, new: `{"systemready":"yes","needsetup":"no"}`, downFor: 1, notReady: true}},
		{"uptime without boot ID, reboot not seen", &rebootingDevice{
			old: `{"systemready":"yes","needsetup":"no","uptime":"1000"}`, new: `{"systemready":"yes","needsetup":"no","uptime":"1"}`}},
		{"boot ID appears with the new firmware", &rebootingDevice{
			old: `{"systemready":"yes","needsetup":"no"}`, new: `{"systemready":"yes","needsetup":"no","uptime":"1","bootid":"b2"}`}},
		{"boot ID", &rebootingDevice{
			old: `{"systemready":"yes","needsetup":"no","uptime":"1000","bootid":"b1"}`, new: `{"systemready":"yes","needsetup":"no","uptime":"1000","bootid":"b2"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.dev)
			defer srv.Close()
			c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			before, err := c.SystemReady(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Reboot(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitRebooted(ctx, before); err != nil {
				t.Fatal(err)
			}
			tc.dev.mu.Lock()
			defer tc.dev.mu.Unlock()
			if !tc.dev.servedNew {
				t.Fatalf("WaitRebooted returned on an answer of the boot before the reboot (%d questions since)", tc.dev.asked)
			}
		})
	}
}

// eventDevice serves the event stream (vapix.md 13.1) to a client that pings every
// keepalive. With hung set it stops answering after configure, as a device whose power
// was cut or whose web server wedged, without closing TCP: pings get no pong. Otherwise
// it answers pings and sends one event once it has answered quietPings of them: its
// quiet spell is counted in the client's pings, not timed, so that it outlasts the
// client's idle limit (two intervals and a third) however slowly the machine runs.
func eventDevice(t *testing.T, hung bool, keepalive time.Duration, quietPings int) *vapix.Client {
	t.Helper()
	up := websocket.Upgrader{}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/axis-cgi/wssession.cgi" {
			io.WriteString(w, "token\n")
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		pinged := make(chan struct{}, 1)
		conn.SetPingHandler(func(data string) error {
			if hung {
				return nil
			}
			select {
			case pinged <- struct{}{}:
			default:
			}
			// As gorilla's default handler: a failed pong shows in the next read.
			_ = conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
			return nil
		})
		_, _, _ = conn.ReadMessage()
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"apiVersion":"1.0","context":"camcloud","method":"events:configure","data":{}}`))
		go func() { // reads, and so answers pings unless hung, until the client goes
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}()
		if hung {
			<-done
			return
		}
		for range quietPings {
			select {
			case <-pinged:
			case <-done:
				return
			}
		}
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"apiVersion":"1.0","method":"events:notify","params":{"notification":{"topic":"tns1:Device/tnsaxis:IO/VirtualInput","timestamp":1722108150418,"message":{"source":{"port":"1"},"key":{},"data":{"active":"1"}}}}}`))
		<-done
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	vapix.SetEventKeepalive(c, keepalive)
	return c
}

// nextWithin runs s.Next for up to d.
func nextWithin(s *vapix.EventStream, d time.Duration) (ev vapix.Event, returned bool, err error) {
	type result struct {
		ev  vapix.Event
		err error
	}
	ch := make(chan result, 1)
	go func() { ev, err := s.Next(); ch <- result{ev, err} }()
	select {
	case r := <-ch:
		return r.ev, true, r.err
	case <-time.After(d):
		return vapix.Event{}, false, nil
	}
}

// A device that stops answering without closing the connection: the client pings, and
// ends the stream when no pong comes back, rather than wait on it for ever.
func TestRealEventStreamEndsWithoutPongs(t *testing.T) {
	t.Parallel() // it waits: let it overlap the other waits
	// A stream without pongs ends after 116 ms.
	c := eventDevice(t, true, 50*time.Millisecond, 0)
	s, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, returned, err := nextWithin(s, 5*time.Second)
	if !returned {
		t.Fatal("Next still blocked 5 s after the device stopped answering pings")
	}
	if !errors.Is(err, vapix.ErrUnavailable) {
		t.Fatalf("stream of a device that stopped answering: %v, want ErrUnavailable", err)
	}
}

// A device that answers pings keeps the stream open through a long quiet spell.
func TestRealEventStreamQuietButAlive(t *testing.T) {
	t.Parallel() // it waits: let it overlap the other waits
	// Three pings answered make a spell longer than the idle limit (2⅓ intervals). The
	// interval is long enough that a pong held up by a busy machine for up to 1⅓ of it
	// (about 670 ms) still comes in time.
	c := eventDevice(t, false, 500*time.Millisecond, 3)
	s, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, returned, err := nextWithin(s, 30*time.Second)
	if !returned || err != nil || ev.Topic != "tns1:Device/tnsaxis:IO/VirtualInput" {
		t.Fatalf("after a quiet spell: returned %v, event %+v, %v", returned, ev, err)
	}
}

// basicDevice answers as AXIS OS 12 does under the policy "recommended" (vapix.md 1.2
// [V rec 12.11]): a 401 with only `WWW-Authenticate: Basic realm="AXIS_<serial>"`. It
// counts the challenges and the requests that carried Basic credentials, and takes
// upload bodies whole.
type basicDevice struct {
	challenges, basic atomic.Int32
	mu                sync.Mutex
	bodies            []int
}

func (d *basicDevice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if ok {
		d.basic.Add(1)
	}
	if !ok || u != "root" || p != "pass" {
		d.challenges.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="AXIS_B8A44F631339"`)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/axis-cgi/basicdeviceinfo.cgi":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"1.3","data":{"propertyList":{"SerialNumber":"B8A44F631339","Version":"12.11.77"}}}`)
	case "/axis-cgi/usergroup.cgi":
		io.WriteString(w, "root\nadmin operator viewer ptz\n")
	case "/axis-cgi/applications/upload.cgi":
		n, _ := io.Copy(io.Discard, r.Body)
		d.mu.Lock()
		d.bodies = append(d.bodies, int(n))
		d.mu.Unlock()
		io.WriteString(w, "OK\n")
	}
}

// Over HTTPS, AXIS OS 12 asks for Basic only: the client answers it for every kind of
// call (a JSON call, a body-less GET, a streamed upload) and then sends Basic at once.
func TestRealHTTPSOffersOnlyBasic(t *testing.T) {
	d := &basicDevice{}
	srv := httptest.NewTLSServer(d)
	defer srv.Close()
	ctx := context.Background()
	pkg := bytes.Repeat([]byte{0xEA}, 64<<10)
	for _, first := range []string{"upload", "get", "json"} {
		d.challenges.Store(0)
		c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass", Transport: srv.Client().Transport})
		if err != nil {
			t.Fatal(err)
		}
		calls := map[string]func() error{
			"upload": func() error { return c.InstallApp(ctx, "app.eap", bytes.NewReader(pkg)) },
			"get": func() error {
				user, _, err := c.WhoAmI(ctx)
				if err == nil && user != "root" {
					err = fmt.Errorf("who am I: %q", user)
				}
				return err
			},
			"json": func() error {
				info, err := c.DeviceInfo(ctx)
				if err == nil && info.SerialNumber != "B8A44F631339" {
					err = fmt.Errorf("device info %+v", info)
				}
				return err
			},
		}
		order := []string{first}
		for _, k := range []string{"upload", "get", "json"} {
			if k != first {
				order = append(order, k)
			}
		}
		for _, k := range order {
			if err := calls[k](); err != nil {
				t.Errorf("%s call (after %v) over HTTPS with a Basic-only challenge: %v", k, order[0], err)
			}
		}
		if n := d.challenges.Load(); n != 1 {
			t.Errorf("first call %s: %d challenges for %d calls, want 1: Basic is remembered", first, n, len(order))
		}
		c.CloseIdleConnections()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.bodies {
		if n <= len(pkg) {
			t.Errorf("the device took upload bodies of %v bytes, each should hold the whole %d-byte package", d.bodies, len(pkg))
			break
		}
	}
}

// Over plain HTTP a Basic challenge is never answered: that would send the password in
// the clear.
func TestRealPlainHTTPNeverSendsBasic(t *testing.T) {
	d := &basicDevice{}
	srv := httptest.NewServer(d)
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	if _, err := c.DeviceInfo(ctx); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("JSON call: %v, want ErrUnauthorized", err)
	}
	if _, _, err := c.WhoAmI(ctx); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("GET: %v, want ErrUnauthorized", err)
	}
	if err := c.InstallApp(ctx, "app.eap", strings.NewReader("package")); !errors.Is(err, vapix.ErrUnauthorized) {
		t.Errorf("upload: %v, want ErrUnauthorized", err)
	}
	if n := d.basic.Load(); n != 0 {
		t.Fatalf("%d requests sent the password in the clear", n)
	}
}

// Over HTTPS a device that offers Digest (AXIS OS 10.12, or the policy "digest") gets
// Digest, never Basic.
func TestRealHTTPSWithDigestUsesDigest(t *testing.T) {
	dd := &fakeDigest{nonces: map[string]time.Duration{}}
	var basic atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			basic.Add(1)
		}
		if !dd.ok(w, r) {
			w.Header().Add("WWW-Authenticate", `Basic realm="AXIS_B8A44F631339"`)
			return
		}
		io.WriteString(w, "root\nadmin operator viewer ptz\n")
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass", Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if user, _, err := c.WhoAmI(context.Background()); err != nil || user != "root" || basic.Load() != 0 {
		t.Fatalf("who am I over HTTPS with Digest offered: %q, %v; %d requests with Basic", user, err, basic.Load())
	}
}

// A device whose policy changes from Basic to Digest over HTTPS (an admin set "digest")
// gets Digest from the next call on.
func TestRealHTTPSBackToDigest(t *testing.T) {
	b := &basicDevice{}
	dd := &fakeDigest{nonces: map[string]time.Duration{}}
	var useDigest atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !useDigest.Load() {
			b.ServeHTTP(w, r)
			return
		}
		if dd.ok(w, r) {
			io.WriteString(w, "root\nadmin operator viewer ptz\n")
		}
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass", Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	if _, _, err := c.WhoAmI(ctx); err != nil {
		t.Fatalf("with Basic: %v", err)
	}
	useDigest.Store(true)
	for i := range 2 {
		if user, _, err := c.WhoAmI(ctx); err != nil || user != "root" {
			t.Fatalf("call %d after the device went back to Digest: %q, %v", i+1, user, err)
		}
	}
}
