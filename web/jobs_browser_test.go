package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// TestConsoleJobs: an admin starts an overlay job on two cameras from the console and
// watches its progress reach 100 % live, then finds its creation in the audit log by
// searching for it; an operator follows the job without the controls to start or cancel
// one; the API refuses jobs from an operator and a viewer (TestConsole checks that a
// viewer's menu has no jobs).
func TestConsoleJobs(t *testing.T) {
	w := startWorld(t, 2)
	serials := onboard(t, w, w.cameras...)
	var jobID string

	t.Run("admin starts an overlay job and watches it finish", func(t *testing.T) {
		// The form's first try selects no device: the API refuses it (400).
		ctx := tab(t, "400 api/v1/orgs/"+w.org+"/jobs")
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("2 of 2 devices")),
			chromedp.Click(`//nav/a[text()="Jobs"]`),
			chromedp.WaitVisible(text("No jobs yet.")),
			chromedp.Click(`//a[text()="New job"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[aria-label="Select `+serials[1]+`"]`)),
			chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "overlay"),
			chromedp.SendKeys(chromedp.CSS(`input[name=text]`), "Gate 4"),
			chromedp.Click(text("Start job")+`[self::button]`),
			chromedp.WaitVisible(text("select the devices with exactly one of devices, group or all")),
			chromedp.WaitVisible(chromedp.CSS(`input[name=filter][aria-invalid=true]`)),
			chromedp.Click(chromedp.CSS(`input[aria-label="Select `+serials[0]+`"]`)),
			chromedp.Click(chromedp.CSS(`input[aria-label="Select `+serials[1]+`"]`)),
			chromedp.Click(text("Start job")+`[self::button]`),
			chromedp.WaitVisible(text("2 of 2 done (100 %)")),
			chromedp.WaitVisible(`//p/strong[text()="succeeded"]`),
			chromedp.WaitVisible(text("The job has ended.")),
			chromedp.WaitVisible(`//table[@aria-label="Tasks"]//td[text()="succeeded"]`),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				loc, err := chromedp.Location()(ctx, tg)
				jobID = strings.TrimPrefix(loc, w.r.URL+"/ui/jobs/")
				return err
			}),
			screenshot("jobs"),
		)
		if err != nil {
			t.Fatal(err)
		}
		var job struct {
			State  string
			Kind   string
			Counts map[string]int
		}
		w.r.Do(t, "GET", w.orgPath("/jobs/"+jobID), w.admin, nil).JSON(t, &job)
		if job.State != "succeeded" || job.Kind != "overlay" || job.Counts["succeeded"] != 2 {
			t.Errorf("job %s: %+v", jobID, job)
		}
		// The job list shows it; the audit log has its creation, found by its ID.
		err = chromedp.Do(ctx,
			chromedp.Click(`//nav/a[text()="Jobs"]`),
			chromedp.WaitVisible(`//table[@aria-label="Jobs"]//a[text()="`+jobID+`"]`),
			chromedp.Click(`//nav/a[text()="Audit"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[name=q]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=q]`), jobID),
			chromedp.Click(`//form[@aria-label="Search the audit log"]//button`),
			chromedp.WaitVisible(`//table[@aria-label="Audit log"]//td[text()="job.create"]`),
			chromedp.WaitVisible(text("overlay job "+jobID+" on 2 device(s)")),
			chromedp.WaitVisible(`//table[@aria-label="Audit log"]//td[text()="`+relaytest.AdminEmail+`"]`),
			screenshot("audit"),
			// The search is in the URL: a reload (a bookmark) shows it again.
			chromedp.Reload(),
			chromedp.WaitVisible(text("overlay job "+jobID+" on 2 device(s)")),
		)
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("admin cancels a job waiting for its window", func(t *testing.T) {
		ctx := tab(t)
		start := time.Now().UTC().Add(3 * time.Hour)
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("2 of 2 devices")),
			chromedp.Navigate(w.r.URL+"/ui/jobs/new?kind=restart"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=target][value=all]`)),
			chromedp.Click(chromedp.CSS(`input[name=target][value=all]`)),
			chromedp.SetValue(chromedp.CSS(`input[name=windowStart]`), start.Format("15:04")),
			chromedp.SetValue(chromedp.CSS(`input[name=windowEnd]`), start.Add(time.Hour).Format("15:04")),
			chromedp.Click(text("Start job")+`[self::button]`),
			chromedp.WaitVisible(text("0 of 2 done (0 %)")),
			chromedp.Click(text("Cancel job…")+`[self::button]`),
			chromedp.Click(text("Yes, cancel the job")+`[self::button]`),
			chromedp.WaitVisible(`//p/strong[text()="cancelled"]`),
			chromedp.WaitVisible(text("2 of 2 done (100 %)")),
		)
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("operator follows jobs without controls", func(t *testing.T) {
		email, pw := w.member(t, "operator", role.Operator)
		ctx := tab(t)
		var page string
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(text("2 of 2 devices")),
			chromedp.Click(`//nav/a[text()="Jobs"]`),
			chromedp.Click(`//a[text()="`+jobID+`"]`),
			chromedp.WaitVisible(text("2 of 2 done (100 %)")),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				page, err = chromedp.TextContent(chromedp.CSS(`body`))(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(page, "Cancel job") || strings.Contains(page, "New job") || strings.Contains(page, "Audit") {
			t.Errorf("an operator sees job or audit controls: %q", page)
		}
		tok := w.r.Login(t, email, pw)
		if res := w.r.Do(t, "POST", w.orgPath("/jobs"), tok, map[string]any{"kind": "restart", "devices": serials}); res.Status != http.StatusForbidden {
			t.Errorf("an operator's job through the API: %d %s", res.Status, res.Body)
		}
	})

	// TestConsole's viewer sees neither jobs nor the audit log in the menu; the API
	// refuses a viewer's jobs too.
	t.Run("viewer refused jobs", func(t *testing.T) {
		email, pw := w.member(t, "viewer", role.Viewer)
		tok := w.r.Login(t, email, pw)
		if res := w.r.Do(t, "POST", w.orgPath("/jobs"), tok, map[string]any{"kind": "overlay", "params": map[string]string{"text": "x"},
			"devices": serials}); res.Status != http.StatusForbidden {
			t.Errorf("a viewer's job through the API: %d %s", res.Status, res.Body)
		}
		if res := w.r.Do(t, "POST", w.orgPath("/jobs/"+jobID+"/cancel"), tok, nil); res.Status != http.StatusForbidden {
			t.Errorf("a viewer's cancel through the API: %d %s", res.Status, res.Body)
		}
	})
}
