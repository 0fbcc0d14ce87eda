package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// The console's performance goals: the first page view (everything the browser loads
// for the sign-in page, compressed) under 150 KB, and the device list usable within
// 300 ms of signing in with 10,000 devices, on loopback.
//
//	go test -run '^$' -bench Console -benchtime 5x ./web
const (
	firstViewGoal = 150 * 1024 // bytes
	usableGoal    = 300        // ms
	scaleDevices  = 10000
)

// BenchmarkConsoleFirstView measures the bytes on the wire of the first page view with an
// empty cache, as Chromium's network events count them (headers and compressed bodies of
// the page, its modules, stylesheet and icon). The baseline is the compressed bodies
// alone, fetched with Go's client: their ratio is what headers and requests add.
func BenchmarkConsoleFirstView(b *testing.B) {
	r := relaytest.Start(b, relaytest.RealClock)
	bodies := compressedBodies(b, r)
	var wire float64
	for b.Loop() {
		ctx := tab(b)
		if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			b.Fatal(err)
		}
		got := onTheWire(b, ctx)
		err := chromedp.Do(ctx,
			chromedp.Navigate(r.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		)
		if err != nil {
			b.Fatal(err)
		}
		wire = got()
		closeTab(b, ctx)
	}
	if wire > firstViewGoal {
		b.Errorf("first page view is %.0f KB, over %d KB", wire/1024, firstViewGoal/1024)
	}
	b.ReportMetric(wire, "B/first-view")
	b.ReportMetric(float64(bodies), "B/bodies")
	b.ReportMetric(wire/float64(bodies), "wire/bodies")
}

// BenchmarkConsoleDeviceList10k measures the time from the sign-in form's submit to the
// device list being usable with 10,000 devices: its first rows drawn, the count of all
// devices shown, and a search over all of them answered. The baseline, measured in the
// same run, is the API alone: Go's client reading the 10,000 devices in pages of 1,000,
// as a client that is not a browser would (ms/api). Beside it, Go's client reading them
// the way the console does, in one request of summaries (ms/api-summary), and the same
// three moments as the page itself sees them (ms/usable-page, see watchUsable), without
// the time the test takes to notice each one; and that time counted from the moment the
// sign-in's answer (the token) arrived rather than from the submit
// (ms/usable-after-sign-in): the goal's "after sign-in", without the password check.
func BenchmarkConsoleDeviceList10k(b *testing.B) {
	r := relaytest.Start(b, relaytest.RealClock)
	admin := r.Login(b, relaytest.AdminEmail, relaytest.AdminPassword)
	org := seedDevices(b, r, admin, scaleDevices)
	var usable, api, apiSummary time.Duration
	var inPage, afterSignIn float64
	for b.Loop() {
		api += readAllDevices(b, r, admin, org)
		apiSummary += readSummaries(b, r, admin, org)

		ctx := tab(b)
		err := chromedp.Do(ctx,
			chromedp.Navigate(r.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), relaytest.AdminEmail),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), relaytest.AdminPassword),
			watchUsable(),
		)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
			chromedp.WaitVisible(`//a[text()="ACCC8E000063"]`), // the 100th row
			chromedp.WaitVisible(text(fmt.Sprintf("%d of %d devices", scaleDevices, scaleDevices))),
			search("accc8e0026"),
			chromedp.WaitVisible(text(fmt.Sprintf("256 of %d devices", scaleDevices))),
		)
		if err != nil {
			b.Fatal(err)
		}
		usable += time.Since(start)
		err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			ms, err := chromedp.Evaluate[[]float64](`(() => { const u = window.__usable;
				const token = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/auth/token"));
				const ready = Math.max(u.rows, u.count), search = u.search - u.input;
				return [ready - u.submit + search, ready - (token ? token.responseEnd : NaN) + search]; })()`)(ctx, t)
			if err == nil {
				inPage += ms[0]
				afterSignIn += ms[1]
			}
			return err
		}))
		if err != nil {
			b.Fatal(err)
		}
		closeTab(b, ctx)
	}
	n := float64(b.N)
	msUsable, msAPI := float64(usable.Milliseconds())/n, float64(api.Milliseconds())/n
	msSummary := float64(apiSummary.Milliseconds()) / n
	b.ReportMetric(msUsable, "ms/usable")
	b.ReportMetric(msAPI, "ms/api")
	b.ReportMetric(msUsable/msAPI, "usable/api")
	b.ReportMetric(msSummary, "ms/api-summary")
	b.ReportMetric(inPage/n, "ms/usable-page")
	b.ReportMetric(afterSignIn/n, "ms/usable-after-sign-in")
	// Only reported: on a shared, busy machine a time limit would fail at random.
	if msUsable > usableGoal {
		b.Logf("usable after %.0f ms, over the %d ms goal (the API alone: %.0f ms)", msUsable, usableGoal, msAPI)
	}
}

// watchUsable has the page note when (performance.now) the sign-in form is submitted,
// the 100th row and the count of all devices first appear, and, after search types
// into the search box, when the search's count appears. ms/usable-page is the time from
// the submit to both the rows and the count, plus the search's own time: what the test
// would measure if it noticed each moment at once.
func watchUsable() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const u = window.__usable = {};
			document.addEventListener("submit", () => { u.submit ??= performance.now(); }, true);
			new MutationObserver(() => {
				const now = performance.now(), text = document.querySelector("main")?.textContent || "";
				if (u.rows === undefined && document.evaluate('//a[text()="ACCC8E000063"]', document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue) u.rows = now;
				if (u.count === undefined && text.includes("%[1]d of %[1]d devices")) u.count = now;
				if (u.input !== undefined && u.search === undefined && text.includes("256 of %[1]d devices")) u.search = now;
			}).observe(document.body, { subtree: true, childList: true, characterData: true });
			return true;
		})()`, scaleDevices))(ctx, t)
		return err
	})
}

// search types q into the device list's search box at once, as a paste would.
func search(q string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const q = document.querySelector("input[name=q]");
			if (window.__usable) window.__usable.input = performance.now();
			q.value = %q;
			q.dispatchEvent(new Event("input"));
			return true;
		})()`, q))(ctx, t)
		return err
	})
}

// seedDevices registers n devices (serials ACCC8E000000 up) in the admin's organization
// and returns its ID.
func seedDevices(t testing.TB, r *relaytest.Relay, admin string, n int) string {
	t.Helper()
	var orgs struct{ Items []struct{ ID string } }
	r.Do(t, "GET", "/api/v1/orgs", admin, nil).JSON(t, &orgs)
	org := orgs.Items[0].ID
	models := []string{"P3265-V", "Q6135-LE", "M3106-L Mk II", "P1468-LE"}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 { // concurrent writes share bbolt transactions
		wg.Go(func() {
			for i := g; i < n; i += 32 {
				_, err := r.Store.RegisterDevice(context.Background(), store.Device{Org: org, Serial: fmt.Sprintf("ACCC8E%06X", i), Model: models[i%len(models)]})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return org
}

// readAllDevices reads every device of org through the API, in pages of 1,000, and
// returns how long it took.
func readAllDevices(t testing.TB, r *relaytest.Relay, admin, org string) time.Duration {
	t.Helper()
	start := time.Now()
	cursor, n := "", 0
	for range 1000 { // bounded
		var page struct {
			Items      []struct{ Serial string }
			NextCursor string
		}
		r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices?limit=1000&cursor="+cursor, admin, nil).JSON(t, &page)
		n += len(page.Items)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	took := time.Since(start)
	if n != scaleDevices {
		t.Fatalf("the API listed %d devices, want %d", n, scaleDevices)
	}
	return took
}

// readSummaries reads every device of org through the API as the console does, in one
// request of summaries, and returns how long it took.
func readSummaries(t testing.TB, r *relaytest.Relay, admin, org string) time.Duration {
	t.Helper()
	start := time.Now()
	var page struct {
		Items      []struct{ Serial string }
		NextCursor string
	}
	r.Do(t, "GET", "/api/v1/orgs/"+org+"/devices?view=summary&limit=10000", admin, nil).JSON(t, &page)
	took := time.Since(start)
	if len(page.Items) != scaleDevices || page.NextCursor != "" {
		t.Fatalf("the API listed %d device summaries (next %q), want %d", len(page.Items), page.NextCursor, scaleDevices)
	}
	return took
}

// compressedBodies is the size of the gzipped bodies of the sign-in page and of every
// asset it names, as the relay sends them.
func compressedBodies(t testing.TB, r *relaytest.Relay) int {
	t.Helper()
	get := func(path string) []byte {
		req, err := http.NewRequest("GET", r.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the body stays compressed
		res, err := r.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
		}
		return b
	}
	index := get("/ui/")
	total := len(index)
	// The page names its stylesheet, icon and first module; the modules import the rest.
	seen := map[string]bool{}
	todo := regexp.MustCompile(`/ui/assets/[^"]+`).FindAllString(string(plain(t, r, "/ui/")), -1)
	for len(todo) > 0 && len(seen) < 100 { // bounded
		p := todo[0]
		todo = todo[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		total += len(get(p))
		for _, m := range regexp.MustCompile(`from "\./([^"]+)"`).FindAllStringSubmatch(string(plain(t, r, p)), -1) {
			todo = append(todo, "/ui/assets/"+m[1])
		}
	}
	return total
}

// plain is the uncompressed body of path.
func plain(t testing.TB, r *relaytest.Relay, path string) []byte {
	t.Helper()
	res, err := r.Client.Get(r.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onTheWire counts the bytes Chromium receives in the tab from now on (headers and
// encoded bodies): call the function it returns to read the count.
func onTheWire(t testing.TB, ctx context.Context) func() float64 {
	t.Helper()
	var mu sync.Mutex
	var n float64
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventLoadingFinished); ok {
			mu.Lock()
			n += e.EncodedDataLength
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// closeTab closes a tab of a benchmark's iteration so that tabs do not pile up.
func closeTab(t testing.TB, ctx context.Context) {
	t.Helper()
	if err := chromedp.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
}
