// Package web serves the console: a single-page application of plain ES modules and CSS,
// embedded in the relay binary, at /ui/ (and / redirects there). It needs no build step
// and talks to the relay only through the public /api/v1, same-origin, with the bearer
// token kept in the page's memory (sessionStorage at most), so no cookie is ever sent and
// no CSRF protection is needed.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
)

//go:embed ui
var files embed.FS

// csp allows only the console's own files: no inline scripts or styles, no eval. Blob
// and data images are for snapshots fetched with the token.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// moduleRef finds a module's references to other modules: "./name.js", as in
// `from "./lib.js"` and `import("./jobs.js")`.
var moduleRef = regexp.MustCompile(`"\./([^"/]+\.js)"`)

// asset is one file ready to send: its bytes, gzipped bytes and ETag.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
	immutable   bool // its URL names its content hash
}

// Console serves the embedded files. Made once; safe for concurrent use.
type Console struct {
	index  asset
	assets map[string]asset // by the name under /ui/assets/
}

// New prepares the files: each asset gets a URL with its content hash (so it can be
// cached for good), and index.html is rewritten to point at those URLs.
func New() (*Console, error) {
	c := &Console{assets: map[string]asset{}}
	sub, err := fs.Sub(files, "ui")
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	raw := map[string][]byte{} // by the name under assets/
	err = fs.WalkDir(sub, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		raw[strings.TrimPrefix(p, "assets/")] = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("console assets: %w", err)
	}
	// Modules import each other, so a module's URL must change when any module it
	// imports does, or a browser would keep an old module that imports a name that is
	// gone: every module's URL carries the hash of all of them.
	modules := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if path.Ext(name) == ".js" {
			fmt.Fprintf(modules, "%s\x00%d\x00", name, len(raw[name]))
			modules.Write(raw[name])
		}
	}
	rename := map[string]string{}
	for name, b := range raw {
		sum := sha256.Sum256(b)
		if path.Ext(name) == ".js" {
			copy(sum[:], modules.Sum(nil))
		}
		ext := path.Ext(name)
		rename[name] = strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
	}
	hashed := map[string]bool{}
	for _, to := range rename {
		hashed[to] = true
	}
	for name, b := range raw {
		if path.Ext(name) == ".js" {
			// Modules import each other by plain names, statically (from "./lib.js") and
			// when a page is first shown (import("./jobs.js")): point them at the hashed
			// URLs. A name left plain would be a module that is not there.
			for from, to := range rename {
				b = bytes.ReplaceAll(b, []byte(`"./`+from+`"`), []byte(`"./`+to+`"`))
			}
			for _, m := range moduleRef.FindAllSubmatch(b, -1) {
				if !hashed[string(m[1])] {
					return nil, fmt.Errorf("console module %s imports %s, which is not a console asset", name, m[1])
				}
			}
		}
		c.assets[rename[name]] = newAsset(b, mime.TypeByExtension(path.Ext(name)), true)
	}
	idx, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, fmt.Errorf("console index: %w", err)
	}
	for from, to := range rename {
		idx = bytes.ReplaceAll(idx, []byte(`/ui/assets/`+from+`"`), []byte(`/ui/assets/`+to+`"`))
	}
	c.index = newAsset(idx, "text/html; charset=utf-8", false)
	return c, nil
}

func newAsset(b []byte, ct string, immutable bool) asset {
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(b) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	sum := sha256.Sum256(b)
	return asset{body: b, gz: gz.Bytes(), contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, immutable: immutable}
}

// Wrap serves the console at / and /ui/..., and passes everything else to next (the API).
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "/" && p != "/ui" && !strings.HasPrefix(p, "/ui/") {
			next.ServeHTTP(w, r)
			return
		}
		c.ServeHTTP(w, r)
	})
}

// ServeHTTP serves / (a redirect), the assets, and index.html for every other /ui/ path,
// so that bookmarks of the application's pages work.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/" || r.URL.Path == "/ui":
		http.Redirect(w, r, "/ui/", http.StatusFound)
		return
	case strings.HasPrefix(r.URL.Path, "/ui/assets/"):
		a, ok := c.assets[strings.TrimPrefix(r.URL.Path, "/ui/assets/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		c.send(w, r, a)
		return
	}
	c.send(w, r, c.index)
}

func (c *Console) send(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body) // the client went away; nothing to do
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
