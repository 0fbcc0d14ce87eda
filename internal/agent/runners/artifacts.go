package runners

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/releasesig"
	"github.com/opencamcloud/camcloud/internal/taskkind"
)

// Artifacts fetches release files from the relay over the agent link and keeps them,
// verified, in a directory: each file is downloaded once however many devices need it,
// and used only when its SHA-256 and the relay's signature check out. The relay's
// release key is fetched once and pinned in the directory.
type Artifacts struct {
	dir   string
	relay func() *http.Client // the link's client; nil before the link is up

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per SHA-256: one download at a time
	pub   ed25519.PublicKey
}

// NewArtifacts keeps files in dir; relay returns the client to the relay over the link.
func NewArtifacts(dir string, relay func() *http.Client) (*Artifacts, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	return &Artifacts{dir: dir, relay: relay, locks: map[string]*sync.Mutex{}}, nil
}

const pinnedKeyFile = "release-key.pub"

// ErrBadArtifact: a file or its signature does not check out.
var ErrBadArtifact = errors.New("artifacts: release file failed verification")

// Fetch returns the path of a verified copy of the artifact. A copy already in the
// directory is hashed again before it is used; one that no longer matches is replaced.
func (a *Artifacts) Fetch(ctx context.Context, art taskkind.Artifact) (string, error) {
	pub, err := a.key(ctx)
	if err != nil {
		return "", err
	}
	if !releasesig.Verify(pub, art.SHA256, art.Size, art.Signature) {
		return "", fmt.Errorf("%w: the relay's signature of %s does not verify", ErrBadArtifact, art.SHA256)
	}
	a.mu.Lock()
	l := a.locks[art.SHA256]
	if l == nil {
		l = &sync.Mutex{}
		a.locks[art.SHA256] = l
	}
	a.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	path := filepath.Join(a.dir, art.SHA256)
	switch ok, err := holds(path, art); {
	case err != nil:
		return "", err
	case ok:
		return path, nil
	}
	// Absent, or altered since it was checked: fetched again.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("artifacts: remove altered %s: %w", path, err)
	}
	hc, err := a.client()
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://relay"+linkapi.ArtifactPath+art.SHA256, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("artifacts: fetch %s: %w", art.SHA256, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("artifacts: fetch %s: relay answered %s", art.SHA256, resp.Status)
	}
	tmp, err := os.CreateTemp(a.dir, "fetch-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, art.Size+1))
	if err == nil {
		err = tmp.Sync() // on disk before the rename makes it the verified copy
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("artifacts: fetch %s: %w", art.SHA256, err)
	}
	if n != art.Size || hex.EncodeToString(h.Sum(nil)) != art.SHA256 {
		return "", fmt.Errorf("%w: %s arrived with another size or hash", ErrBadArtifact, art.SHA256)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// holds reports whether path is a copy of the artifact: its size and SHA-256 are checked
// each time it is used, not only when it was fetched, since a file altered in the
// directory since (by hand, by a disk fault, by a crash before the agent synced files)
// must not reach a device.
func holds(path string, art taskkind.Artifact) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("artifacts: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("artifacts: %w", err)
	}
	if fi.Size() != art.Size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("artifacts: check %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == art.SHA256, nil
}

func (a *Artifacts) client() (*http.Client, error) {
	if a.relay == nil {
		return nil, errors.New("artifacts: no link to the relay")
	}
	hc := a.relay()
	if hc == nil {
		return nil, errors.New("artifacts: no link to the relay yet")
	}
	return hc, nil
}

// key is the relay's release key: pinned on first use. A pin is never replaced: a relay
// that starts signing with another key gets its releases refused (rotating the key is
// not supported yet).
func (a *Artifacts) key(ctx context.Context) (ed25519.PublicKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pub != nil {
		return a.pub, nil
	}
	pinned := filepath.Join(a.dir, pinnedKeyFile)
	if b, err := os.ReadFile(pinned); err == nil {
		pub, err := releasesig.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("artifacts: pinned key %s: %w", pinned, err)
		}
		a.pub = pub
		return pub, nil
	}
	hc, err := a.client()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://relay"+linkapi.ReleaseKeyPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("artifacts: release key: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("artifacts: release key: %s %v", resp.Status, err)
	}
	pub, err := releasesig.ParsePublicKey(b)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(pinned, b, 0o644); err != nil {
		return nil, err
	}
	a.pub = pub
	return pub, nil
}
