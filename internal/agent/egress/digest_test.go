package egress

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestBufferedBodyAfterRefusedNonce: a small body is held in memory, so a refused nonce
// costs one more round trip and nothing else.
func TestBufferedBodyAfterRefusedNonce(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	p, srv := startProxy(t, inv)
	ctx := ctxT(t)
	c := viaProxy(t, srv, cam.Info().Serial)
	if _, err := c.DeviceInfo(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ := p.link(cam.Info().Serial)
	l.auth.mu.Lock()
	bad := *l.auth.chal
	bad.Nonce = "AAAAAAAAAAAA0000000000000000000000000000000000000000"
	l.auth.chal = &bad
	l.auth.mu.Unlock()
	before := cam.Counters()
	info, err := c.DeviceInfo(ctx)
	if err != nil || info.SerialNumber != cam.Info().Serial {
		t.Fatalf("after a refused nonce: %+v, %v", info, err)
	}
	after := cam.Counters()
	if n := after.Unauthorized - before.Unauthorized; n != 1 {
		t.Fatalf("%d challenges; want 1", n)
	}
	if n := after.Requests["/axis-cgi/basicdeviceinfo.cgi"] - before.Requests["/axis-cgi/basicdeviceinfo.cgi"]; n != 2 {
		t.Fatalf("%d requests; want 2 (refused, then resent)", n)
	}
}

// TestStreamBodyOneAttempt: a streamed body goes to one attempt only. A second attempt
// may take it while no byte was read; once one was, it stays with the attempt that read.
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
