package web_test

import (
	"compress/gzip"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/web"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestConsoleServing(t *testing.T) {
	c, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := c.Wrap(api)

	if res := get(t, h, "/api/v1/orgs", nil); res.StatusCode != http.StatusTeapot {
		t.Fatalf("API path went to %d", res.StatusCode)
	}
	if res := get(t, h, "/", nil); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("/: %d %s", res.StatusCode, res.Header.Get("Location"))
	}

	// A bookmark of any page of the application gets index.html, which must be revalidated.
	res := get(t, h, "/ui/devices/ACCC8E000001", nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), `<main id="main"`) || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("deep link: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
		t.Errorf("headers %v", res.Header)
	}
	if regexp.MustCompile(`<script>|<style|style=`).Match(body) {
		t.Error("index.html has inline script or style, which the CSP refuses")
	}

	// Assets are named by content, cached for good, gzipped, and answer 304 to their ETag.
	m := regexp.MustCompile(`/ui/assets/app\.[0-9a-f]{12}\.js`).Find(body)
	if m == nil {
		t.Fatalf("index.html names no hashed app.js: %s", body)
	}
	res = get(t, h, string(m), map[string]string{"Accept-Encoding": "gzip"})
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("asset: %d %v", res.StatusCode, res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	// Every module app.js imports, statically or when a page is first shown, and every
	// module they import, is served under the hashed name it is imported by.
	ref := regexp.MustCompile(`(from |import\()"\./([a-z]+\.[0-9a-f]{12}\.js)"`)
	if n := len(ref.FindAll(js, -1)); n < 4 {
		t.Fatalf("gzipped app.js does not decode to the application's router: %d imports", n)
	}
	if !regexp.MustCompile(`import\("\./devices\.[0-9a-f]{12}\.js"\)`).Match(js) {
		t.Fatal("app.js does not load the device list's module when it is first shown")
	}
	var all string
	seen := map[string]bool{}
	todo := []string{strings.TrimPrefix(string(m), "/ui/assets/")}
	// The page preloads modules of the first view, by their hashed names too.
	for _, p := range regexp.MustCompile(`<link rel="modulepreload" href="/ui/assets/([^"]+)">`).FindAllSubmatch(body, -1) {
		todo = append(todo, string(p[1]))
	}
	for len(todo) > 0 && len(seen) < 100 { // bounded
		name := todo[0]
		todo = todo[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		res := get(t, h, "/ui/assets/"+name, nil)
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("module %s: %d %s", name, res.StatusCode, res.Header.Get("Content-Type"))
		}
		all += string(b)
		for _, r := range ref.FindAllSubmatch(b, -1) {
			todo = append(todo, string(r[2]))
		}
		if plain := regexp.MustCompile(`"\./[a-z]+\.js"`).Find(b); plain != nil {
			t.Errorf("module %s imports %s by a name that is not hashed", name, plain)
		}
	}
	for _, page := range []string{"signin", "lib", "devices", "jobs", "audit", "org", "invite"} {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), func(n string) bool { return strings.HasPrefix(n, page+".") }) {
			t.Errorf("module %s.js is not reached from app.js or the page's preloads (%v)", page, slices.Sorted(maps.Keys(seen)))
		}
	}
	if !strings.Contains(all, "/api/v1/auth/token") {
		t.Fatal("no module signs in")
	}
	if res := get(t, h, string(m), map[string]string{"If-None-Match": res.Header.Get("ETag")}); res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res.StatusCode)
	}
	if res := get(t, h, "/ui/assets/nothing.js", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown asset: %d", res.StatusCode)
	}
}
