package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// TestAuditPagesAndSearch: a search over the audit log reads page after page with the
// cursor, newest first, each entry once, within the time range asked.
func TestAuditPagesAndSearch(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var entries []AuditEntry
	for i := range 25 {
		e := AuditEntry{At: base.Add(time.Duration(i) * time.Second), Org: "org_a", Principal: "usr_1", Action: "edgelink", Status: 200,
			Path: fmt.Sprintf("/call/%d", i)}
		if i%2 == 0 {
			e.Action, e.Detail = "job.create", fmt.Sprintf("overlay job JOB%d on 2 device(s)", i)
		}
		entries = append(entries, e)
	}
	entries = append(entries, AuditEntry{At: base, Org: "org_b", Action: "job.create", Detail: "overlay job elsewhere"})
	if err := s.AppendAudit(ctx, entries); err != nil {
		t.Fatal(err)
	}
	read := func(f AuditFilter, limit int) []string {
		var got []string
		cursor := ""
		for range 100 {
			page, next, err := s.Audit(ctx, "org_a", f, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.Path)
			}
			if next == "" {
				return got
			}
			cursor = next
		}
		t.Fatal("the cursor never ends")
		return nil
	}
	if got := read(AuditFilter{}, 7); len(got) != 25 || got[0] != "/call/24" || got[24] != "/call/0" {
		t.Errorf("every entry, 7 a page: %v", got)
	}
	// Text search ignores case and looks in the detail; since and until bound the time.
	f := AuditFilter{Text: "OVERLAY JOB", Since: base.Add(4 * time.Second), Until: base.Add(20 * time.Second)}
	if got := fmt.Sprint(read(f, 3)); got != "[/call/18 /call/16 /call/14 /call/12 /call/10 /call/8 /call/6 /call/4]" {
		t.Errorf("search: %s", got)
	}
	if got := read(AuditFilter{Text: "job18"}, 10); len(got) != 1 || got[0] != "/call/18" {
		t.Errorf("search for a job ID: %v", got)
	}
	if _, _, err := s.Audit(ctx, "org_a", AuditFilter{}, "not a cursor", 10); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

// TestJobsPages: the job list reads page after page with the cursor, newest first, each
// job once, jobs made in the same instant included.
func TestJobsPages(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u := must[User](t)(s.CreateUser(ctx, "a@example.com", "h"))
	org := must[Org](t)(s.CreateOrg(ctx, "A", u.ID))
	host := must[EdgeHost](t)(s.CreateEdgeHost(ctx, org.ID, "site", [32]byte{1}, c.Now().Add(time.Hour)))
	want := map[string]bool{}
	for i := range 7 {
		if i%3 == 0 {
			c.Add(time.Second) // some jobs share their creation time
		}
		j := must[Job](t)(s.CreateJob(ctx, Job{Org: org.ID, Kind: "restart"}, []Task{
			{TaskReport: linkapi.TaskReport{Kind: "restart", Serial: fmt.Sprintf("ACCC8E%06d", i)}, EdgeHost: host.ID, MaxAttempts: 1}}))
		want[j.ID] = true
	}
	var got []Job
	cursor := ""
	for range 10 {
		page, next, err := s.Jobs(ctx, org.ID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	seen := map[string]bool{}
	for i, j := range got {
		if seen[j.ID] || !want[j.ID] {
			t.Errorf("job %s twice or unknown", j.ID)
		}
		seen[j.ID] = true
		if i > 0 && j.CreatedAt.After(got[i-1].CreatedAt) {
			t.Errorf("not newest first: %v after %v", j.CreatedAt, got[i-1].CreatedAt)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d of %d jobs listed", len(seen), len(want))
	}
}
