package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The GraphQL token gives admin access to the agent: its file ends up private whatever
// mode an older or restored copy had, and a token it holds is kept.
func TestGraphQLTokenFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "graphql-token")
	if err := os.WriteFile(old, []byte("tok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(old, 0o644) // whatever the umask
	empty := filepath.Join(dir, "empty-token")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(empty, 0o644)
	for _, p := range []string{old, empty, filepath.Join(dir, "new-token")} {
		tok, err := loadOrCreateToken(p)
		if err != nil || tok == "" {
			t.Fatalf("%s: %q %v", p, tok, err)
		}
		if p == old && tok != "tok" {
			t.Errorf("the token in %s was replaced by %q", p, tok)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
}
