package egress

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// TestCancelMidResponse: the caller goes away while the device streams its answer; the
// device's request is cancelled.
func TestCancelMidResponse(t *testing.T) {
	deviceDone := make(chan error, 1)
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for {
			if _, err := io.WriteString(w, "--frame\r\n\r\n"+strings.Repeat("x", 1024)+"\r\n"); err != nil {
				deviceDone <- err
				return
			}
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				deviceDone <- r.Context().Err()
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	inv := &inventory{}
	inv.set("S1", Target{Addr: dev.addr(), User: "a", Password: "b"})
	_, srv := startProxy(t, inv)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+PathPrefix+"S1/vapix/axis-cgi/mjpg/video.cgi", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := io.ReadAtLeast(res.Body, buf, 2048); err != nil {
		t.Fatalf("no stream through the proxy: %v", err)
	}
	cancel()
	res.Body.Close()
	select {
	case <-deviceDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the device request went on after the caller left")
	}
}

// TestCancelMidUpload: the caller goes away halfway through a streamed upload; the
// device sees its request end.
func TestCancelMidUpload(t *testing.T) {
	received := make(chan int64, 1)
	deviceDone := make(chan error, 1)
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == vapix.DigestProbePath {
			return // the proxy learns there is no challenge before streaming
		}
		var n int64
		buf := make([]byte, 32<<10)
		for {
			m, err := r.Body.Read(buf)
			n += int64(m)
			if n >= 1<<20 {
				select {
				case received <- n:
				default:
				}
			}
			if err != nil {
				deviceDone <- err
				return
			}
		}
	})
	inv := &inventory{}
	inv.set("S1", Target{Addr: dev.addr(), User: "a", Password: "b"})
	_, srv := startProxy(t, inv)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+PathPrefix+"S1/vapix/axis-cgi/firmwaremanagement.cgi", pr)
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatal("the upload did not reach the device")
	}
	cancel()
	pw.CloseWithError(errors.New("caller gone"))
	select {
	case err := <-deviceDone:
		if err == io.EOF {
			t.Fatal("the device saw a complete body, not a cancelled upload")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the device request went on after the caller left")
	}
	<-errc
}

// TestCancelWhileCameraSlow: a camera that takes its time (camsim latency fault) is left
// when the caller gives up; the proxy's slot is free again at once.
func TestCancelWhileCameraSlow(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv, func(c *Config) { c.MaxConcurrent = 1 })
	url := srv.URL + PathPrefix + cam.Info().Serial + "/vapix/axis-cgi/usergroup.cgi"
	cam.SetFaults(camsim.Faults{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("answer %d from a camera a minute slow", res.StatusCode)
	}
	cam.SetFaults(camsim.Faults{})
	testtool.WaitFor(t, 5*time.Second, "the proxy's slot to be free again", func() bool {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("after the cancel: %d", res.StatusCode)
		}
		return res.StatusCode == http.StatusOK
	})
}

// TestCancelledBeforeTheDeviceAnswersIsNoAnswer: when the request's context ends while
// the device has not answered (the link to the relay is going down, and with it every
// request it carried), the proxy does not answer at all. An empty 200 would read as a
// device call that succeeded to whoever still reads the stream.
func TestCancelledBeforeTheDeviceAnswersIsNoAnswer(t *testing.T) {
	inv := &inventory{}
	linkDown := make(chan context.CancelFunc, 1)
	dev := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		(<-linkDown)() // the request is at the device: now the link ends
		<-r.Context().Done()
	})
	inv.set("S1", Target{Addr: dev.addr(), User: "a", Password: "b"})
	p, err := New(Config{Devices: inv})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The agent's link server gives requests a context that ends with the link, while
	// the stream may still carry an answer; here the connection stays up the same way.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		linkDown <- cancel
		p.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + PathPrefix + "S1/vapix/axis-cgi/jpg/image.cgi")
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("the proxy answered %d %q for a device call cut short; want no answer", res.StatusCode, b)
	}
}
