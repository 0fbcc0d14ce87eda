// Package scripts_test runs the scripts behind the make targets as a person would.
package scripts_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePorts finds n consecutive free loopback ports.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := base+n < 65000
		for p := base; ok && p < base+n; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMakeRun starts the whole system as `make run` does, checks what a newcomer is told
// and what is left on disk, and stops it with Ctrl-C.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts every binary")
	}
	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin+"/", "../cmd/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := filepath.Join(t.TempDir(), "run")
	const cameras = 2
	ports := freePorts(t, cameras+2)
	cmd := exec.Command("sh", "run.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "RUN_DIR="+run, fmt.Sprintf("CAMERAS=%d", cameras),
		fmt.Sprintf("RELAY_ADDR=127.0.0.1:%d", ports), fmt.Sprintf("CONTROL_ADDR=127.0.0.1:%d", ports+1),
		fmt.Sprintf("CAM_PORT=%d", ports+2))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not within 2 minutes; output:\n%s", what, out.String())
			case err := <-done:
				t.Fatalf("make run ended (%v) before %s; output:\n%s", err, what, out.String())
			case <-tick.C:
			}
		}
	}
	waitFor("the banner", func() bool { return strings.Contains(out.String(), "camcloud is running on loopback.") })
	banner := out.String()
	for _, want := range []string{"relay API    https://127.0.0.1:", "login        admin@localhost / ", "Ctrl-C stops everything."} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}

	// cameras.json holds the cameras' owner keys: only its owner may read it.
	list := filepath.Join(run, "cameras.json")
	waitFor("a line per camera in cameras.json", func() bool {
		b, _ := os.ReadFile(list)
		return bytes.Count(b, []byte("\n")) == cameras
	})
	fi, err := os.Stat(list)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("cameras.json has mode %o, want 600", mode)
	}
	sc := bufio.NewScanner(bytes.NewReader(must(os.ReadFile(list))))
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"oak"`) {
			t.Errorf("camera line without its owner key: %s", sc.Text())
		}
	}

	// Ctrl-C reaches the whole process group, as in a terminal.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("make run did not stop on Ctrl-C; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stopped.") {
		t.Errorf("no \"stopped.\" after Ctrl-C; output:\n%s", out.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
