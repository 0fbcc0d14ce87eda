package web_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// adminWorld is a relay and its first admin, without edge hosts or cameras: the
// organization, profile and release pages need none.
func adminWorld(t *testing.T) *world {
	t.Helper()
	browser(t)
	w := &world{r: relaytest.Start(t, relaytest.RealClock)}
	w.admin = w.r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	var orgs struct{ Items []struct{ ID string } }
	w.r.Do(t, "GET", "/api/v1/orgs", w.admin, nil).JSON(t, &orgs)
	w.org = orgs.Items[0].ID
	return w
}

// runScript evaluates a script in the page, for what a person does that chromedp has no
// action for (choosing an option of a select fires its change event).
func runScript(script string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](script+"; true")(ctx, tg)
		return err
	})
}

// pickOption picks value in the select matched by the CSS selector, as a person would.
func pickOption(css, value string) chromedp.Action[chromedp.Void] {
	return runScript(`(s => { s.value = ` + jsLiteral(value) + `; s.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(` + jsLiteral(css) + `))`)
}

func jsLiteral(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// pageHasNone fails unless nothing in the page matches the CSS selector.
func pageHasNone(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		n, err := chromedp.Evaluate[int](`document.querySelectorAll(`+jsLiteral(css)+`).length`)(ctx, tg)
		if err == nil && n != 0 {
			return &shownElements{css}
		}
		return err
	})
}

type shownElements struct{ css string }

func (u *shownElements) Error() string { return "the page shows " + u.css }

// TestConsoleAdmin walks the organization, profile and release pages: an admin invites a
// member (who accepts through the API and appears with the role), changes the member's
// role, cannot remove the last admin, creates and changes a profile (a refused one shows
// the reason beside its field), uploads a release and sees the progress reach 100 % and
// the release in the catalog; a viewer sees none of these controls and the API refuses
// them.
func TestConsoleAdmin(t *testing.T) {
	w := adminWorld(t)
	const newcomer = "newcomer@example.com"

	t.Run("admin invites and changes a role", func(t *testing.T) {
		ctx := tab(t, "409 api/v1/orgs/")
		var code string
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Click(`//nav/a[text()="Organization"]`),
			chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Invite a member"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=inviteEmail]`), newcomer),
			pickOption(`select[name=inviteRole]`, "operator"),
			chromedp.Click(`//form[@aria-label="Invite a member"]//button[text()="Invite"]`),
			chromedp.WaitVisible(chromedp.CSS(`code.invite-code`)),
			chromedp.WaitVisible(`//table[@aria-label="Pending invitations"]//td[text()="`+newcomer+`"]`),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				code, err = chromedp.Text(chromedp.CSS(`code.invite-code`))(ctx, tg)
				return err
			}),
			screenshot("org"),
		)
		if err != nil {
			t.Fatal(err)
		}
		res := w.r.Do(t, "POST", "/api/v1/invitations/"+code+"/accept", "", map[string]string{"email": newcomer, "password": "newcomer-password-1"})
		if res.Status != http.StatusOK {
			t.Fatalf("accept the invitation shown: %d %s", res.Status, res.Body)
		}
		roleCell := func(rl string) string {
			return `//table[@aria-label="Members"]//tr[td[contains(., "` + newcomer + `")]]/td[@data-role="` + rl + `"]`
		}
		err = chromedp.Do(ctx,
			chromedp.Reload(),
			chromedp.WaitVisible(roleCell("operator")),
			chromedp.WaitVisible(text("No pending invitations.")),
			// A role changes after the admin confirms it.
			pickOption(`select[aria-label="Role of `+newcomer+`"]`, "viewer"),
			chromedp.Click(`//dialog//button[text()="Change role"]`),
			chromedp.WaitVisible(roleCell("viewer")),
			// The last admin stays: the API's refusal is shown.
			chromedp.Click(chromedp.CSS(`button[aria-label="Remove `+relaytest.AdminEmail+`"]`)),
			chromedp.Click(`//dialog//button[text()="Remove"]`),
			chromedp.WaitVisible(`//*[@id="error" and contains(., "Organization needs an admin")]`),
		)
		if err != nil {
			t.Fatal(err)
		}
		var ms struct {
			Items []struct{ Email, Role string }
		}
		w.r.Do(t, "GET", w.orgPath("/members"), w.admin, nil).JSON(t, &ms)
		roles := map[string]string{}
		for _, m := range ms.Items {
			roles[m.Email] = m.Role
		}
		if roles[newcomer] != "viewer" || roles[relaytest.AdminEmail] != "admin" {
			t.Errorf("members %+v", ms.Items)
		}
	})

	t.Run("admin creates and changes a profile", func(t *testing.T) {
		ctx := tab(t, "400 api/v1/orgs/")
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Click(`//nav/a[text()="Profiles"]`),
			chromedp.WaitVisible(text("No profiles yet.")),
			chromedp.Click(`//a[text()="New profile"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "lobby"),
			chromedp.SendKeys(chromedp.CSS(`input[name=osVersion]`), "latest"),
			chromedp.Click(`//button[text()="Add application"]`),
			chromedp.SendKeys(chromedp.CSS(`input[name=appName]`), "AxisExampleApp"),
			chromedp.Click(`//button[text()="Add parameter"]`),
			chromedp.SendKeys(chromedp.CSS(`input[name=paramName]`), "Image.I0.Appearance.Resolution"),
			chromedp.SendKeys(chromedp.CSS(`input[name=paramValue]`), "1920x1080"),
			chromedp.Click(`//button[text()="Create"]`),
			// "latest" needs a track: the reason shows beside the version.
			chromedp.WaitVisible(`//p[@id="err-osVersion" and contains(., "needs an osTrack")]`),
			chromedp.WaitVisible(chromedp.CSS(`input[name=osVersion][aria-invalid=true]`)),
			screenshot("profile-form"),
			chromedp.SetValue(chromedp.CSS(`select[name=osTrack]`), "lts-2024"),
			chromedp.Click(`//button[text()="Create"]`),
			chromedp.WaitVisible(`//table[@aria-label="Profiles"]//td[contains(., "latest on lts-2024")]`),
			chromedp.WaitVisible(`//table[@aria-label="Profiles"]//td[text()="AxisExampleApp"]`),
			chromedp.Click(`//a[text()="lobby"]`),
			chromedp.WaitVisible(chromedp.CSS(`input[name=overlay]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=overlay]`), "Lobby %D"),
			chromedp.Click(`//button[text()="Save"]`),
			chromedp.WaitVisible(`//table[@aria-label="Profiles"]//td[text()="Lobby %D"]`),
			screenshot("profiles"),
		)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			OSTrack, OSVersion, Overlay string
			Params                      map[string]string
			Apps                        []struct{ Name string }
		}
		w.r.Do(t, "GET", w.orgPath("/profiles/lobby"), w.admin, nil).JSON(t, &p)
		if p.OSTrack != "lts-2024" || p.OSVersion != "latest" || p.Overlay != "Lobby %D" || len(p.Apps) != 1 ||
			p.Params["Image.I0.Appearance.Resolution"] != "1920x1080" {
			t.Errorf("profile as saved: %+v", p)
		}
	})

	t.Run("operator reads profiles", func(t *testing.T) {
		email, pw := w.member(t, "operator", role.Operator)
		ctx := tab(t)
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Click(`//nav/a[text()="Profiles"]`),
			chromedp.Click(`//a[text()="lobby"]`),
			chromedp.WaitVisible(text("latest on lts-2024")),
			chromedp.WaitVisible(text("Image.I0.Appearance.Resolution = 1920x1080")),
			pageHasNone(`main form, main button`),
			chromedp.NavigateBack(),
			chromedp.WaitVisible(`//table[@aria-label="Profiles"]//a[text()="lobby"]`),
			pageHasNone(`a[href="/ui/profiles/_new"]`),
			chromedp.Click(`//nav/a[text()="Organization"]`),
			chromedp.WaitVisible(text("Your role (operator)")),
			pageHasNone(`main form, main select, main button`),
		)
		if err != nil {
			t.Fatal(err)
		}
		tok := w.r.Login(t, email, pw)
		if res := w.r.Do(t, "PUT", w.orgPath("/profiles/lobby"), tok, map[string]string{"name": "lobby"}); res.Status != http.StatusForbidden {
			t.Errorf("operator changes a profile through the API: %d %s", res.Status, res.Body)
		}
	})

	t.Run("admin uploads a release", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "AXIS_OS_12.6.94.bin")
		const size = 8 << 20
		if err := os.WriteFile(file, releaseBytes(t, size), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx := tab(t)
		err := chromedp.Do(ctx,
			signIn(w, relaytest.AdminEmail, relaytest.AdminPassword),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Click(`//nav/a[text()="Releases"]`),
			chromedp.WaitVisible(text("The catalog is empty.")),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name=file]`), []string{file}),
			// The version comes from the file's name.
			chromedp.WaitVisible(chromedp.CSS(`input[name=version]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=products]`), "P3265-V"),
			chromedp.Click(`//form[@aria-label="Upload a release"]//button[text()="Upload"]`),
			chromedp.WaitVisible(text("Added AXIS OS 12.6.94 (8.0 MB)")),
			chromedp.WaitVisible(`//span[@class="pct" and text()="100 %"]`),
			chromedp.WaitVisible(`//table[@aria-label="Releases"]//tr[td[text()="12.6.94"] and td[text()="P3265-V"] and td[text()="8.0 MB"]]`),
			screenshot("releases"),
		)
		if err != nil {
			t.Fatal(err)
		}
		var rels struct {
			Items []struct {
				Version string
				Size    int64
			}
		}
		w.r.Do(t, "GET", "/api/v1/releases", w.admin, nil).JSON(t, &rels)
		if len(rels.Items) != 1 || rels.Items[0].Version != "12.6.94" || rels.Items[0].Size != size {
			t.Errorf("catalog %+v", rels.Items)
		}
	})

	t.Run("viewer sees no admin controls", func(t *testing.T) {
		email, pw := w.member(t, "watcher", role.Viewer)
		ctx := tab(t)
		var nav string
		err := chromedp.Do(ctx,
			signIn(w, email, pw),
			chromedp.WaitVisible(text("0 of 0 devices")),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
				nav, err = chromedp.TextContent(chromedp.CSS(`#nav`))(ctx, tg)
				return err
			}),
			chromedp.Click(`//nav/a[text()="Organization"]`),
			chromedp.WaitVisible(text("Your role (viewer)")),
			pageHasNone(`main form, main select, main button`),
			chromedp.Navigate(w.r.URL+"/ui/profiles"),
			chromedp.WaitVisible(text("Profiles need the operator role")),
			chromedp.Navigate(w.r.URL+"/ui/releases"),
			chromedp.WaitVisible(`//table[@aria-label="Releases"]//td[text()="12.6.94"]`),
			pageHasNone(`form[aria-label="Upload a release"], main button`),
		)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(nav, "Profiles") {
			t.Errorf("a viewer's menu offers profiles: %q", nav)
		}
		tok := w.r.Login(t, email, pw)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", w.orgPath("/invitations"), map[string]string{"email": "x@example.com", "role": "admin"}},
			{"GET", w.orgPath("/members"), nil},
			{"PATCH", w.orgPath(""), map[string]any{"name": "mine now"}},
			{"POST", w.orgPath("/profiles"), map[string]string{"name": "sneaky"}},
			{"PUT", w.orgPath("/profiles/lobby"), map[string]string{"name": "lobby"}},
			{"POST", "/api/v1/releases?kind=os&version=12.6.95", "not a release"},
		} {
			if res := w.r.Do(t, c.method, c.path, tok, c.body); res.Status != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d %s", c.method, c.path, res.Status, res.Body)
			}
		}
	})
}

func releaseBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
