package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set(RequestIDHeader, "req-1")
	Write(rec, httptest.NewRequest("GET", "/api/v1/orgs/x", nil), Invalid("serial", "must be 12 hexadecimal digits"))
	if rec.Code != 400 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != Validation.URI || p.RequestID != "req-1" || p.Instance != "/api/v1/orgs/x" || p.InvalidParams[0].Name != "serial" {
		t.Errorf("problem %+v", p)
	}
}

func TestIsThroughWrapping(t *testing.T) {
	err := fmt.Errorf("lookup: %w", New(NotFound, "no such device"))
	if !errors.Is(err, New(NotFound, "")) || errors.Is(err, New(Conflict, "")) {
		t.Error("errors.Is does not match by type")
	}
}

func TestCatalogueIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, ty := range Catalogue() {
		if seen[ty.URI] || !strings.HasPrefix(ty.URI, base) || ty.Status < 400 || ty.Title == "" {
			t.Errorf("catalogue entry %+v", ty)
		}
		seen[ty.URI] = true
	}
}
