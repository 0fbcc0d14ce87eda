package scripts_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// A fenced block: its indentation, language and what follows the language ("no-test").
var fence = regexp.MustCompile("^( *)```([a-z]*)(.*)$")

// docBlock is a fenced shell block of a markdown file.
type docBlock struct {
	where  string // file:line
	script string
	noTest bool
}

// shellBlocks returns the shell blocks of a markdown file, in order.
func shellBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []docBlock
		cur    *docBlock
		indent string
		line   int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		text := sc.Text()
		m := fence.FindStringSubmatch(text)
		switch {
		case m != nil && cur == nil:
			if m[2] == "sh" || m[2] == "bash" || m[2] == "shell" {
				cur = &docBlock{where: fmt.Sprintf("%s:%d", path, line), noTest: strings.TrimSpace(m[3]) == "no-test"}
			} else {
				cur = &docBlock{} // another language: skipped
			}
			indent = m[1]
		case m != nil:
			if cur.where != "" {
				blocks = append(blocks, *cur)
			}
			cur = nil
		case cur != nil:
			cur.script += strings.TrimPrefix(text, indent) + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// maxNoTest bounds the blocks the documentation marks as not runnable in a test (a
// long-running server, placeholders for files and addresses that exist only elsewhere).
const maxNoTest = 10

// TestDocs runs every shell command of README.md and docs/*.md, in order, against make
// run on loopback in a network namespace of its own, where make run's default addresses
// are free: the commands are run as written, from a directory that looks like a checkout
// (bin/ and .run/). A command that fails fails the test.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts every binary")
	}
	testtool.Require(t, "jq")
	testtool.Require(t, "ffprobe")
	bin := os.Getenv("CAMCLOUD_DOCS_BIN")
	if bin == "" {
		bin = buildAll(t) // here, where the module cache and the network are
		t.Setenv("CAMCLOUD_DOCS_BIN", bin)
	}
	if !testtool.InNetns(t) {
		return
	}

	files := []string{"../README.md"}
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(docs)
	files = append(files, docs...)
	var skipped []string
	type fileScript struct{ name, script string }
	var scripts []fileScript
	for _, f := range files {
		var sb strings.Builder
		for _, b := range shellBlocks(t, f) {
			if b.noTest {
				skipped = append(skipped, b.where)
				continue
			}
			fmt.Fprintf(&sb, "echo '### %s'\n%s", b.where, b.script)
		}
		if sb.Len() > 0 {
			scripts = append(scripts, fileScript{f, sb.String()})
		}
	}
	t.Logf("blocks marked no-test: %s", strings.Join(skipped, ", "))
	if len(skipped) > maxNoTest {
		t.Errorf("%d blocks are marked no-test, at most %d may be: make them runnable", len(skipped), maxNoTest)
	}

	work := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(work, "bin")); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, append(os.Environ(), "BIN="+filepath.Join(work, "bin"), "RUN_DIR="+filepath.Join(work, ".run")))
	r.waitFor("the banner", func() bool { return strings.Contains(r.out.String(), bannerDone) })

	for _, s := range scripts {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-e", "-c", s.script)
		cmd.Dir = work
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("a command of %s fails (%v); output, after the block it ran last:\n%s", s.name, err, out)
		}
	}
	r.interrupt()
}
