package vapix_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
