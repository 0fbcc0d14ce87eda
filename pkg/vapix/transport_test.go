package vapix_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
)

// failingReader is a release file that cannot be read (a disk error).
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk read failed") }

// ErrUnavailable means the device could not be reached, which callers retry once it is
// back. A failure on the client's side is not that, and keeps its own error.
func TestClientSideErrorsAreNotUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"1.10","method":"status","data":{"activeFirmwareVersion":"12.10.1","activeFirmwarePart":"1"}}`)
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL, User: "root", Password: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	_, err = c.UpgradeFirmware(ctx, failingReader{}, 10, vapix.UpgradeOptions{}, nil)
	if err == nil || errors.Is(err, vapix.ErrUnavailable) || !strings.Contains(err.Error(), "disk read failed") {
		t.Errorf("firmware image that cannot be read: %v, want the read error, not ErrUnavailable", err)
	}
	err = c.InstallApp(ctx, "app.eap", failingReader{})
	if err == nil || errors.Is(err, vapix.ErrUnavailable) || !strings.Contains(err.Error(), "disk read failed") {
		t.Errorf("package that cannot be read: %v, want the read error, not ErrUnavailable", err)
	}

	// A device that does not answer in time is unavailable.
	hung, err := vapix.New(vapix.Config{BaseURL: hungDevice(t), User: "root", Password: "pass", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer hung.CloseIdleConnections()
	if _, err := hung.DeviceInfo(ctx); !errors.Is(err, vapix.ErrUnavailable) {
		t.Errorf("device that does not answer: %v, want ErrUnavailable", err)
	}
}

// A client without credentials (one behind a proxy that authenticates for it) sends an
// upload as it is: there is no challenge to probe for, and a probe would reach the device
// as an empty upload.
func TestUploadWithoutCredentialsIsOneRequest(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"1.10","method":"upgrade","data":{"firmwareVersion":"12.11.77"}}`)
	}))
	defer srv.Close()
	c, err := vapix.New(vapix.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	img := []byte("image")
	if v, err := c.UpgradeFirmware(context.Background(), bytes.NewReader(img), int64(len(img)), vapix.UpgradeOptions{}, nil); err != nil || v != "12.11.77" {
		t.Fatalf("upgrade: %q, %v", v, err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("the device got %d requests for one upload, want 1", n)
	}
}
