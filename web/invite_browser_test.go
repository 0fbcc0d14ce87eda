package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// TestInvite follows an invitation from the admin who makes it to the person who accepts
// it: the organization page shows a link with the code in its fragment; a new tab opens
// the link, creates the account and lands in the organization with the invited role; the
// same link again shows why it no longer works; a person who has an account joins with
// it, signed in.
func TestInvite(t *testing.T) {
	w := adminWorld(t)
	const newcomer, password = "invited@example.com", "invited-password-1"

	// invite makes an invitation on the organization page and returns the link shown.
	invite := func(t *testing.T, email, role string) string {
		t.Helper()
		ctx := tab(t)
		var link string
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(chromedp.CSS(`#nav a`)),
			chromedp.Navigate(w.r.URL+"/ui/org"),
			chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Invite a member"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=inviteEmail]`), email),
			pickOption(`select[name=inviteRole]`, role),
			chromedp.Click(`//form[@aria-label="Invite a member"]//button[text()="Invite"]`),
			chromedp.WaitVisible(chromedp.CSS(`code.invite-link`)),
			chromedp.WaitVisible(chromedp.CSS(`code.invite-code`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				link, err = chromedp.Text(chromedp.CSS(`code.invite-link`))(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		return link
	}

	var link string
	t.Run("a new person creates the account and joins", func(t *testing.T) {
		link = invite(t, newcomer, "operator")
		u, err := url.Parse(link)
		if err != nil || u.Path != "/ui/invite" || !strings.HasPrefix(u.Fragment, "code=") || u.RawQuery != "" {
			t.Fatalf("invitation link %q: the code belongs in the fragment only", link)
		}
		ctx := tab(t)
		var code, address, role, who, nav string
		err = chromedp.Do(ctx,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				if code, err = chromedp.Evaluate[string](`document.querySelector("input[name=code]").value`)(ctx, tg); err != nil {
					return err
				}
				address, err = chromedp.Evaluate[string](`location.href`)(ctx, tg)
				return err
			}),
			screenshot("invite"),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), newcomer),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
			chromedp.Click(chromedp.CSS(`form[aria-label="Accept an invitation"] button[type=submit]`)),
			chromedp.WaitVisible(`//h1[text()="Organization"]`),
			chromedp.WaitVisible(`//dt[text()="Your role"]/following-sibling::dd[1]`),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				if role, err = chromedp.Text(`//dt[text()="Your role"]/following-sibling::dd[1]`)(ctx, tg); err != nil {
					return err
				}
				if who, err = chromedp.TextContent(chromedp.CSS(`#who`))(ctx, tg); err != nil {
					return err
				}
				nav, err = chromedp.TextContent(chromedp.CSS(`#nav`))(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if "code="+url.QueryEscape(code) != strings.SplitN(link, "#", 2)[1] {
			t.Errorf("the code field holds %q, the link was %s", code, link)
		}
		if strings.Contains(address, code) {
			t.Errorf("the code stays in the address bar: %s", address)
		}
		if role != "operator" || !strings.Contains(who, newcomer+" (operator)") || !strings.Contains(nav, "Edge hosts") {
			t.Errorf("joined as %q; header %q; menu %q", role, who, nav)
		}
	})

	t.Run("a used link says so", func(t *testing.T) {
		if link == "" {
			t.Skip("no link")
		}
		ctx := tab(t, "410 api/v1/invitations/")
		var msg string
		err := chromedp.Do(ctx,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "someone-else@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "another-password-1"),
			chromedp.Click(chromedp.CSS(`form[aria-label="Accept an invitation"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#error`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				msg, err = chromedp.Text(chromedp.CSS(`#error`))(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, "Invitation already used") || !strings.Contains(msg, "already been accepted") {
			t.Errorf("error shown: %q", msg)
		}
		if _, err := w.r.Store.UserByEmail(t.Context(), "someone-else@example.com"); err == nil {
			t.Error("a used invitation made an account")
		}
	})

	t.Run("a person with an account joins signed in", func(t *testing.T) {
		const email, pw = "has-account@example.com", "has-account-password-1"
		w.r.CreateUser(t, email, pw)
		link := invite(t, email, "viewer")
		ctx := tab(t)
		var role string
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(`//h1[text()="No organization"]`),
			chromedp.Navigate(link),
			chromedp.WaitVisible(text("You join with the account you are signed in with")),
			chromedp.Click(`//button[text()="Join the organization"]`),
			chromedp.WaitVisible(`//dt[text()="Your role"]/following-sibling::dd[1]`),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				role, err = chromedp.Text(`//dt[text()="Your role"]/following-sibling::dd[1]`)(ctx, tg)
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if role != "viewer" {
			t.Errorf("joined as %q, want viewer", role)
		}
	})
}
