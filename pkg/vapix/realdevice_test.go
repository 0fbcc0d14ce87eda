package vapix_test

// Fake servers that answer as vapix.md describes a real Axis device where camsim makes a
// different choice or none: the client must work with both.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

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
