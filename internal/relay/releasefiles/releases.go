// Package releasefiles is the relay's store of release files (its software catalog):
// AXIS OS and ACAP files kept in the data directory by their SHA-256, each signed with the
// relay's release key (package releasesig) so that agents can check a file before giving
// it to a device.
package releasefiles

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/releasesig"
	"github.com/opencamcloud/camcloud/internal/taskkind"
)

// Files in the data directory.
const (
	KeyFile     = "release-key.pem" // the signing key, 0600
	ArtifactDir = "artifacts"       // one file per SHA-256
)

// MaxSize bounds a release file.
const MaxSize = 2 << 30

var (
	// ErrTooLarge: the file is larger than MaxSize.
	ErrTooLarge = errors.New("releases: file too large")
	// ErrEmpty: the release file has no bytes.
	ErrEmpty = errors.New("releases: empty file")
	// ErrNoRelease: no release in the catalog fits (Resolve says which with a
	// *NoReleaseError).
	ErrNoRelease = errors.New("releases: no such release")

	shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Catalog stores and signs releases.
type Catalog struct {
	st  *store.Store
	dir string
	key ed25519.PrivateKey
	// mu orders putting a file in place and recording its release, so that an upload
	// refused by the store removes a file no other upload is about to record.
	mu sync.Mutex
}

// uploadPrefix names the temporary files uploads are received in.
const uploadPrefix = "upload-"

// Open loads the signing key and the artifact directory under dataDir. The key is made
// only for a catalog without releases: releases signed with a key that is gone verify
// with no other, and agents pinned it, so a missing or different key is an error to fix
// by restoring the file, never papered over with a new one. (Rotating the release key is
// not supported yet.)
func Open(dataDir string, st *store.Store) (*Catalog, error) {
	path := filepath.Join(dataDir, KeyFile)
	rels, err := st.Releases(context.Background())
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	key, err := releasesig.LoadKey(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(rels) > 0:
		return nil, fmt.Errorf("releases: the release key %s is missing but the catalog holds %d releases signed with it: "+
			"restore %s (0600) from a backup of the data directory; a new key would leave every release, and every agent that pinned the old key, unable to verify", path, len(rels), KeyFile)
	case errors.Is(err, fs.ErrNotExist):
		key, err = releasesig.CreateKey(path)
	}
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	for _, r := range rels {
		if !releasesig.Verify(pub, r.SHA256, r.Size, r.Signature) {
			return nil, fmt.Errorf("releases: the release key %s did not sign release %s (version %s): restore the %s the catalog was signed with from a backup of the data directory",
				path, r.ID, r.Version, KeyFile)
		}
	}
	dir := filepath.Join(dataDir, ArtifactDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	// Uploads cut short by a crash leave their temporary files, up to 2 GiB each.
	stale, err := filepath.Glob(filepath.Join(dir, uploadPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("releases: remove an unfinished upload: %w", err)
		}
	}
	return &Catalog{st: st, dir: dir, key: key}, nil
}

// PublicKeyPEM is the key agents verify signatures with.
func (c *Catalog) PublicKeyPEM() []byte {
	return releasesig.MarshalPublicKey(c.key.Public().(ed25519.PublicKey))
}

// Add stores the file read from body as release r (its kind, name, version, products and
// track set by the caller), with its SHA-256, size and signature. When the store does not
// record the release (ErrExists: a duplicate), a file this upload put in place is removed
// again: it would be served to any agent, and never deleted.
func (c *Catalog) Add(ctx context.Context, r store.Release, body io.Reader) (store.Release, error) {
	tmp, err := os.CreateTemp(c.dir, uploadPrefix+"*")
	if err != nil {
		return store.Release{}, fmt.Errorf("releases: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, MaxSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.Release{}, fmt.Errorf("releases: receive file: %w", err)
	}
	if n > MaxSize {
		return store.Release{}, ErrTooLarge
	}
	if n == 0 {
		return store.Release{}, ErrEmpty
	}
	r.SHA256, r.Size = hex.EncodeToString(h.Sum(nil)), n
	r.Signature = releasesig.Sign(c.key, r.SHA256, r.Size)
	path := filepath.Join(c.dir, r.SHA256)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = os.Stat(path)
	placed := errors.Is(err, fs.ErrNotExist) // the file is this upload's: no task is fetching it
	if err := os.Rename(tmp.Name(), path); err != nil {
		return store.Release{}, fmt.Errorf("releases: %w", err)
	}
	added, err := c.st.AddRelease(ctx, r)
	if err != nil && placed {
		c.removeUnused(ctx, path, r.SHA256)
	}
	return added, err
}

// removeUnused removes the file of a release the store did not record, unless a release
// in the catalog has the same SHA-256 (the store failed after recording it, or the
// release's file had gone missing and the upload restored it). It looks even when the
// upload's request is gone.
func (c *Catalog) removeUnused(ctx context.Context, path, sha string) {
	rels, err := c.st.Releases(context.WithoutCancel(ctx))
	if err != nil {
		return // kept: better a stray file than a release without its file
	}
	for _, o := range rels {
		if o.SHA256 == sha {
			return
		}
	}
	_ = os.Remove(path)
}

// Open opens an artifact by its SHA-256.
func (c *Catalog) Open(sha string) (*os.File, error) {
	if !shaRE.MatchString(sha) {
		return nil, ErrNoRelease
	}
	f, err := os.Open(filepath.Join(c.dir, sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoRelease
	}
	return f, err
}

// Resolve finds the release of kind with this name (acap) and version that fits model,
// newest first. Products count for applications as for AXIS OS: the same version of an
// application may be built once per architecture, each published for the products it
// runs on, and a build sent to another product fails there. A release without products
// fits every model.
func (c *Catalog) Resolve(ctx context.Context, kind, name, version, model string) (store.Release, error) {
	all, err := c.st.Releases(ctx)
	if err != nil {
		return store.Release{}, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		if r.Kind == kind && r.Version == version && (kind != store.ReleaseACAP || strings.EqualFold(r.Name, name)) && r.Fits(model) {
			return r, nil
		}
	}
	what := "AXIS OS " + version + " for " + model
	if kind == store.ReleaseACAP {
		what = "application " + name + " " + version + " for " + model
	}
	return store.Release{}, &NoReleaseError{What: what}
}

// NoReleaseError is Resolve finding no release that fits; it is ErrNoRelease.
type NoReleaseError struct {
	What string // what was looked for, e.g. "AXIS OS 12.6.94 for P3265-LVE"
}

func (e *NoReleaseError) Error() string { return ErrNoRelease.Error() + ": " + e.What }

// Is makes errors.Is(err, ErrNoRelease) hold.
func (e *NoReleaseError) Is(target error) bool { return target == ErrNoRelease }

// Artifact is what a task needs to fetch and check a release's file.
func Artifact(r store.Release) taskkind.Artifact {
	return taskkind.Artifact{Release: r.ID, SHA256: r.SHA256, Size: r.Size, Signature: r.Signature}
}
