package releasefiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/releasesig"
)

func TestAddResolveOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "relay.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := Open(dir, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := bytes.Repeat([]byte("firmware"), 1000)
	r, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "11.12.5", Products: []string{"P3265-V"}}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := releasesig.ParsePublicKey(c.PublicKeyPEM())
	if err != nil || !releasesig.Verify(pub, r.SHA256, r.Size, r.Signature) || r.Size != int64(len(body)) {
		t.Fatalf("release %+v does not verify: %v", r, err)
	}
	if _, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "11.12.5", Products: []string{"P3265-V"}}, bytes.NewReader(body)); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	got, err := c.Resolve(ctx, store.ReleaseOS, "", "11.12.5", "AXIS P3265-V")
	if err != nil || got.ID != r.ID {
		t.Fatalf("resolve: %+v %v", got, err)
	}
	if _, err := c.Resolve(ctx, store.ReleaseOS, "", "11.12.5", "Q6135-LE"); !errors.Is(err, ErrNoRelease) {
		t.Errorf("resolved for a product it does not fit: %v", err)
	}
	f, err := c.Open(r.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(b, body) {
		t.Fatal("stored file differs")
	}
	for _, bad := range []string{"../relay.db", "ABC", r.SHA256[:63] + "0"} {
		if _, err := c.Open(bad); !errors.Is(err, ErrNoRelease) {
			t.Errorf("open %q: %v", bad, err)
		}
	}
	if _, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "1.0"}, bytes.NewReader(nil)); err == nil {
		t.Error("empty file accepted")
	}
}

// openCatalog is a catalog in a new data directory, and that directory.
func openCatalog(t *testing.T) (*Catalog, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "relay.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := Open(dir, st)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// The same application version built for two architectures, told apart by products (the
// API takes products for acap, and AddRelease keeps them as different releases): each
// model gets its own build, a model neither fits gets none, and a build published
// without products fits every model.
func TestResolveApplicationMatchesProducts(t *testing.T) {
	c, _ := openCatalog(t)
	ctx := context.Background()
	add := func(version string, products []string, body string) store.Release {
		t.Helper()
		r, err := c.Add(ctx, store.Release{Kind: store.ReleaseACAP, Name: "myapp", Version: version, Products: products}, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	arm := add("1.0.0", []string{"M3086-V"}, "armv7hf build")
	aarch64 := add("1.0.0", []string{"P3265-V"}, "aarch64 build")
	all := add("2.0.0", nil, "one build for all")
	for _, tc := range []struct {
		version, model string
		want           string // release ID, "" for none
	}{
		{"1.0.0", "M3086-V", arm.ID},
		{"1.0.0", "AXIS P3265-V", aarch64.ID},
		{"1.0.0", "Q6135-LE", ""},
		{"2.0.0", "Q6135-LE", all.ID},
		{"2.0.0", "M3086-V", all.ID},
	} {
		got, err := c.Resolve(ctx, store.ReleaseACAP, "myapp", tc.version, tc.model)
		switch {
		case tc.want == "" && !errors.Is(err, ErrNoRelease):
			t.Errorf("myapp %s for %s: got %s (products %v), %v; want none", tc.version, tc.model, got.ID, got.Products, err)
		case tc.want != "" && (err != nil || got.ID != tc.want):
			t.Errorf("myapp %s for %s: got %s (products %v), %v; want %s", tc.version, tc.model, got.ID, got.Products, err, tc.want)
		}
	}
}

// The data directory is restored without release-key.pem (it is 0600 and easily left
// out of a backup), or with another key: the catalog refuses to open, naming the file to
// restore, rather than signing on with a new key while every release in the catalog
// carries a signature no agent will verify again. An empty catalog gets a new key.
func TestOpenRefusesANewKeyForSignedReleases(t *testing.T) {
	c, dir := openCatalog(t)
	keyPath := filepath.Join(dir, KeyFile)
	if _, err := c.Add(context.Background(), store.Release{Kind: store.ReleaseOS, Version: "12.1.1"}, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, c.st); err == nil || !strings.Contains(err.Error(), KeyFile) {
		t.Fatalf("opened without the key the releases were signed with: %v", err)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a new release key was written for a catalog signed with another")
	}
	if _, err := releasesig.CreateKey(keyPath); err != nil { // another key than the catalog's
		t.Fatal(err)
	}
	if _, err := Open(dir, c.st); err == nil || !strings.Contains(err.Error(), KeyFile) {
		t.Fatalf("opened with a key that signed none of the releases: %v", err)
	}
}

// A second upload under a kind, name and version already in the catalog is refused, and
// its file does not stay behind in the artifact directory (served to any agent, never
// removed); a refused upload of a file a release already has leaves that file alone.
func TestRefusedUploadLeavesNoFile(t *testing.T) {
	c, _ := openCatalog(t)
	ctx := context.Background()
	first, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "12.1.1"}, strings.NewReader("first"))
	if err != nil {
		t.Fatal(err)
	}
	const other = "a different file"
	if _, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "12.1.1"}, strings.NewReader(other)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	h := sha256.Sum256([]byte(other))
	if f, err := c.Open(hex.EncodeToString(h[:])); err == nil {
		f.Close()
		t.Fatal("the refused upload's file is stored and served")
	}
	if _, err := c.Add(ctx, store.Release{Kind: store.ReleaseOS, Version: "12.1.1"}, strings.NewReader("first")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	f, err := c.Open(first.SHA256)
	if err != nil {
		t.Fatalf("the release's file after a refused upload of the same file: %v", err)
	}
	f.Close()
}

// An upload cut short by a crash leaves its temporary file; the next start removes it.
func TestOpenRemovesUnfinishedUploads(t *testing.T) {
	c, dir := openCatalog(t)
	stale := filepath.Join(dir, ArtifactDir, uploadPrefix+"123456")
	if err := os.WriteFile(stale, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, c.st); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("unfinished upload after a restart: %v", err)
	}
}
