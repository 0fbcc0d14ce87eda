package runners

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/releasesig"
	"github.com/opencamcloud/camcloud/internal/taskkind"
)

// fakeRelay serves the release key and artifacts the way the relay's link handlers do,
// and counts the artifact downloads.
type fakeRelay struct {
	mu        sync.Mutex
	key       ed25519.PrivateKey
	files     map[string][]byte
	downloads atomic.Int32
}

func newFakeRelay() *fakeRelay {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return &fakeRelay{key: k, files: map[string][]byte{}}
}

// add publishes b as a release file and returns what a task carries of it.
func (f *fakeRelay) add(b []byte) taskkind.Artifact {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := sha256.Sum256(b)
	sha := hex.EncodeToString(h[:])
	f.files[sha] = b
	return taskkind.Artifact{Release: "rel_x", SHA256: sha, Size: int64(len(b)), Signature: releasesig.Sign(f.key, sha, int64(len(b)))}
}

// client is the agent's client to the relay over the link.
func (f *fakeRelay) client() *http.Client {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.URL.Path == linkapi.ReleaseKeyPath:
			_, _ = w.Write(releasesig.MarshalPublicKey(f.key.Public().(ed25519.PublicKey)))
		case strings.HasPrefix(r.URL.Path, linkapi.ArtifactPath):
			b, ok := f.files[strings.TrimPrefix(r.URL.Path, linkapi.ArtifactPath)]
			if !ok {
				http.NotFound(w, r)
				return
			}
			f.downloads.Add(1)
			_, _ = w.Write(b)
		default:
			http.NotFound(w, r)
		}
	})
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A file already in the agent's artifact directory is hashed again before each use: an
// intact copy is used without a download, and one altered since it was checked (by hand,
// by a disk fault) is never handed out but replaced by a fresh download.
func TestCachedArtifactIsVerifiedBeforeUse(t *testing.T) {
	rl := newFakeRelay()
	a, err := NewArtifacts(t.TempDir(), rl.client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := []byte(strings.Repeat("firmware", 512))
	art := rl.add(good)
	fetch := func(downloads int32) {
		t.Helper()
		path, err := a.Fetch(ctx, art)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
			t.Fatalf("Fetch returned %s, which is not the release file", path)
		}
		if n := rl.downloads.Load(); n != downloads {
			t.Fatalf("%d downloads, want %d", n, downloads)
		}
	}
	fetch(1)
	fetch(1) // the copy is intact
	path, _ := a.Fetch(ctx, art)
	if err := os.WriteFile(path, []byte(strings.Repeat("EVILWARE", 512)), 0o600); err != nil { // same size
		t.Fatal(err)
	}
	fetch(2)
}

// The relay's release key is pinned on first use, in full and without temporary files
// left beside it, and the pin outlives the agent: after a restart, a release signed with
// another key is refused.
func TestReleaseKeyIsPinnedAcrossRestarts(t *testing.T) {
	rl := newFakeRelay()
	dir := t.TempDir()
	a, err := NewArtifacts(dir, rl.client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	one := rl.add([]byte("one"))
	if _, err := a.Fetch(ctx, one); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.Contains(names, pinnedKeyFile) || !slices.Contains(names, one.SHA256) {
		t.Fatalf("artifact directory holds %v, want the pinned key and the release file", names)
	}
	want := releasesig.MarshalPublicKey(rl.key.Public().(ed25519.PublicKey))
	if b, _ := os.ReadFile(filepath.Join(dir, pinnedKeyFile)); !bytes.Equal(b, want) {
		t.Fatalf("pinned key is %q, want %q", b, want)
	}
	rl.mu.Lock()
	_, rl.key, _ = ed25519.GenerateKey(rand.Reader) // the relay signs with another key
	rl.mu.Unlock()
	b, err := NewArtifacts(dir, rl.client) // the agent restarts
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Fetch(ctx, rl.add([]byte("two"))); !errors.Is(err, ErrBadArtifact) {
		t.Fatalf("a release signed with another key than the pinned one: %v, want ErrBadArtifact", err)
	}
}
