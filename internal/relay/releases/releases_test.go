package releases

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/release"
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
	pub, err := release.ParsePublicKey(c.PublicKeyPEM())
	if err != nil || !release.Verify(pub, r.SHA256, r.Size, r.Signature) || r.Size != int64(len(body)) {
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
