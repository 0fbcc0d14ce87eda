package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

func TestRecordIsWrittenAndListedNewestFirst(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "relay.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := New(st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		l.Record(store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), Org: "org_a", Principal: "usr_1", Action: "edgelink",
			Serial: "ACCC8E000001", Method: "GET", Path: "/axis-cgi/jpg/image.cgi", Status: 200 + i})
	}
	l.Record(store.AuditEntry{At: base, Org: "org_b", Action: "edgelink", Status: 200})
	cancel() // what is queued is still written
	<-done
	got, _, err := st.Audit(context.Background(), "org_a", store.AuditFilter{}, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Status != 204 || got[2].Status != 202 {
		t.Fatalf("newest three: %+v", got)
	}
	if b, _, _ := st.Audit(context.Background(), "org_b", store.AuditFilter{}, "", 10); len(b) != 1 {
		t.Fatalf("other organization: %+v", b)
	}
	if f, _, _ := st.Audit(context.Background(), "org_a", store.AuditFilter{Serial: "ACCC8E000002"}, "", 10); len(f) != 0 {
		t.Fatalf("filter by serial: %+v", f)
	}
}
