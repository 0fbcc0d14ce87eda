package vapix

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// digestClient is an HTTP client authenticating on cam through a DigestTransport of
// its own.
func digestClient(t *testing.T, cam *camsim.Camera) (*http.Client, *DigestTransport) {
	t.Helper()
	dt := NewDigestTransport(camsimtest.User, camsimtest.Password, &http.Transport{ExpectContinueTimeout: time.Second}, 5*time.Second)
	t.Cleanup(dt.CloseIdleConnections)
	return &http.Client{Transport: dt, CheckRedirect: noRedirect}, dt
}

// spoilNonce replaces the transport's cached nonce with one the device never issued.
func spoilNonce(dt *DigestTransport) {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	bad := *dt.chal
	bad.Nonce = "AAAAAAAAAAAA" + "0000000000000000000000000000000000000000"
	dt.chal = &bad
}

// paramList posts a parameter list request whose body is held (small, known length) or
// streamed (unknown length, larger than what is held).
func paramList(t *testing.T, hc *http.Client, cam *camsim.Camera, streamed bool) {
	t.Helper()
	form := "action=list&group=Brand.Brand"
	var body io.Reader = strings.NewReader(form)
	if streamed {
		body = io.MultiReader(strings.NewReader(form+"&pad="), strings.NewReader(strings.Repeat("x", 2*maxBuffered)))
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, cam.Info().HTTP+"/axis-cgi/param.cgi", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.TrimSpace(string(b)) != "Brand.Brand=AXIS" {
		t.Fatalf("param list (streamed %v): %d %q", streamed, res.StatusCode, b)
	}
}

// A refused nonce costs one more round trip and nothing else: a held body is simply
// resent, and a streamed one, whose request asked for 100-continue, is refused before
// any of it left, so it is sent once, on the new challenge, without a probe.
func TestDigestRefusedNonce(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		name := map[bool]string{false: "held", true: "streamed"}[streamed]
		t.Run(name, func(t *testing.T) {
			cam := camsimtest.Start(t, 1).Cameras()[0]
			hc, dt := digestClient(t, cam)
			paramList(t, hc, cam, false) // learn a challenge
			spoilNonce(dt)
			before := cam.Counters()
			paramList(t, hc, cam, streamed)
			after := cam.Counters()
			if n := after.Unauthorized - before.Unauthorized; n != 1 {
				t.Fatalf("%d challenges; want 1", n)
			}
			if n := after.Requests["/axis-cgi/param.cgi"] - before.Requests["/axis-cgi/param.cgi"]; n != 2 {
				t.Fatalf("%d requests; want 2 (refused, then resent)", n)
			}
			if n := after.Requests[DigestProbePath] - before.Requests[DigestProbePath]; n != 0 {
				t.Fatalf("%d probes; want none (the challenge was fresh)", n)
			}
		})
	}
}

// With no challenge yet, or one older than challengeFresh, a streamed body is preceded
// by a body-less probe, so the body goes out once and already authorized; calls in
// between reuse the nonce.
func TestDigestStreamedBodyProbesForChallenge(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc, dt := digestClient(t, cam)
	paramList(t, hc, cam, true)
	cnt := cam.Counters()
	if cnt.Requests[DigestProbePath] != 1 || cnt.Unauthorized != 1 || cnt.Requests["/axis-cgi/param.cgi"] != 1 {
		t.Fatalf("first call: probes %d, challenges %d, param.cgi requests %d; want 1, 1, 1",
			cnt.Requests[DigestProbePath], cnt.Unauthorized, cnt.Requests["/axis-cgi/param.cgi"])
	}
	paramList(t, hc, cam, true) // the challenge is fresh: no probe
	dt.mu.Lock()
	dt.learned = time.Now().Add(-2 * challengeFresh)
	dt.mu.Unlock()
	paramList(t, hc, cam, true) // the challenge is old: probe first
	cnt = cam.Counters()
	if cnt.Requests[DigestProbePath] != 2 || cnt.Unauthorized != 2 || cnt.Requests["/axis-cgi/param.cgi"] != 3 {
		t.Fatalf("after three calls: probes %d, challenges %d, param.cgi requests %d; want 2, 2, 3",
			cnt.Requests[DigestProbePath], cnt.Unauthorized, cnt.Requests["/axis-cgi/param.cgi"])
	}
}

// A streamed body goes to one attempt only. A second attempt may take it while no byte
// was read; once one was, it stays with the attempt that read.
func TestStreamBodyOneAttempt(t *testing.T) {
	rb := &replayBody{stream: &streamBody{r: strings.NewReader("firmware")}}
	first := rb.first()
	second, ok := rb.again()
	if !ok {
		t.Fatal("an unread body could not be taken again")
	}
	if _, err := first.Read(make([]byte, 1)); !errors.Is(err, errBodyTaken) {
		t.Fatalf("the first attempt read after the second took the body: %v", err)
	}
	b, err := io.ReadAll(second)
	if err != nil || string(b) != "firmware" {
		t.Fatalf("second attempt read %q, %v", b, err)
	}
	if _, ok := rb.again(); ok {
		t.Fatal("a read body was handed to a third attempt")
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
}
