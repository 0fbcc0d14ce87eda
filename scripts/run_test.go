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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
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

// runEnv is the environment of a make run in dir with its ports from base on.
func runEnv(bin, dir string, cameras, base int) []string {
	return append(os.Environ(), "BIN="+bin, "RUN_DIR="+dir, fmt.Sprintf("CAMERAS=%d", cameras),
		fmt.Sprintf("RELAY_ADDR=127.0.0.1:%d", base), fmt.Sprintf("CONTROL_ADDR=127.0.0.1:%d", base+1),
		fmt.Sprintf("TURN_ADDR=127.0.0.1:%d", base+2), fmt.Sprintf("TURNS_ADDR=127.0.0.1:%d", base+3),
		fmt.Sprintf("CAM_PORT=%d", base+4))
}

// runPorts is how many consecutive ports a make run of n cameras listens on: the relay,
// camsim's control API, TURN (UDP and TCP) and TURN over TLS, and HTTP, RTSP and HTTPS
// per camera.
func runPorts(n int) int { return 4 + 3*n }

// buildAll builds every command into a temporary directory.
func buildAll(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin+"/", "../cmd/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// running is a make run started by a test, in its own process group as in a terminal.
type running struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  testtool.Buffer
	done chan error
}

func startRun(t *testing.T, env []string) *running {
	t.Helper()
	r := &running{t: t, done: make(chan error, 1)}
	r.cmd = exec.Command("sh", "run.sh")
	r.cmd.Env = env
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	})
	return r
}

// waitFor waits until cond holds, failing at once when make run ends first.
func (r *running) waitFor(what string, cond func() bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			r.t.Fatalf("%s: not within 2 minutes; output:\n%s", what, r.out.String())
		case err := <-r.done:
			r.t.Fatalf("make run ended (%v) before %s; output:\n%s", err, what, r.out.String())
		case <-tick.C:
		}
	}
}

// interrupt sends Ctrl-C to the whole process group, as a terminal does, and waits until
// make run and every process it started have ended.
func (r *running) interrupt() {
	r.t.Helper()
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		r.t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		r.t.Fatalf("make run did not stop on Ctrl-C; output:\n%s", r.out.String())
	}
	if !strings.Contains(r.out.String(), "stopped.") {
		r.t.Errorf("no \"stopped.\" after Ctrl-C; output:\n%s", r.out.String())
	}
	testtool.WaitFor(r.t, 30*time.Second, "every process of make run ended", func() bool {
		return syscall.Kill(-r.cmd.Process.Pid, 0) == syscall.ESRCH
	})
}

const bannerDone = "Ctrl-C stops everything."

// TestMakeRun starts the whole system as `make run` does, checks what a newcomer is told
// and what is left on disk, and stops it with Ctrl-C. A second make run on the same
// directory and ports is refused without touching the first's files; a restart keeps the
// previous logs and suggests what fits the state it finds.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts every binary")
	}
	bin := buildAll(t)
	run := filepath.Join(t.TempDir(), "run")
	const cameras = 2
	env := runEnv(bin, run, cameras, freePorts(t, runPorts(cameras)))
	first := startRun(t, env)
	first.waitFor("the banner", func() bool { return strings.Contains(first.out.String(), bannerDone) })
	banner := first.out.String()
	for _, want := range []string{"relay API    https://127.0.0.1:", "login        admin@localhost / ", "edgehosts onboard --org default --edgehost eh_", "--serial ACCC8E010000 --serial ACCC8E010001 --wait\n"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "<") {
		t.Errorf("the banner has a placeholder that a shell cannot take:\n%s", banner)
	}
	// The relay's TURN server is on, over TCP and TLS too.
	for _, p := range []int{portOf(t, env) + 2, portOf(t, env) + 3} {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("make run's TURN does not listen: %v", err)
			continue
		}
		c.Close()
	}

	// cameras.json holds the cameras' owner keys: only its owner may read it.
	list := filepath.Join(run, "cameras.json")
	camerasJSON := must(os.ReadFile(list))
	if n := bytes.Count(camerasJSON, []byte("\n")); n != cameras {
		t.Fatalf("cameras.json has %d lines, want %d:\n%s", n, cameras, camerasJSON)
	}
	fi, err := os.Stat(list)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("cameras.json has mode %o, want 600", mode)
	}
	sc := bufio.NewScanner(bytes.NewReader(camerasJSON))
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"oak"`) {
			t.Errorf("camera line without its owner key: %s", sc.Text())
		}
	}

	// A second make run with the same directory and ports says so and changes nothing.
	logs := map[string][]byte{}
	for _, f := range []string{"relay.log", "camsim.log", "edgehost.log"} {
		logs[f] = must(os.ReadFile(filepath.Join(run, f)))
	}
	second := exec.CommandContext(t.Context(), "sh", "run.sh")
	second.Env = env
	out, err := second.CombinedOutput()
	if err == nil {
		t.Errorf("a second make run on the same directory succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "already running") || strings.Contains(string(out), "camcloud is running") {
		t.Errorf("a second make run does not say that one is already running:\n%s", out)
	}
	// Another directory, the same ports: the addresses are taken.
	other := exec.CommandContext(t.Context(), "sh", "run.sh")
	other.Env = runEnv(bin, filepath.Join(t.TempDir(), "other"), cameras, portOf(t, env))
	out, err = other.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already in use") || strings.Contains(string(out), "camcloud is running") {
		t.Errorf("a make run on taken ports: err %v, output:\n%s", err, out)
	}
	if got := must(os.ReadFile(list)); !bytes.Equal(got, camerasJSON) {
		t.Errorf("a refused make run changed cameras.json:\n%s", got)
	}
	for f, before := range logs {
		if got := must(os.ReadFile(filepath.Join(run, f))); !bytes.HasPrefix(got, before) {
			t.Errorf("a refused make run replaced %s", f)
		}
	}
	// Every suggested command works as it is printed, onboarding included.
	pasteSteps(t, first.out.String())
	relay := filepath.Join(bin, "relay")
	first.waitFor("the cameras onboarded", func() bool {
		cmd := exec.CommandContext(t.Context(), relay, "devices", "list", "--org", "default", "--status", "onboarded", "--json")
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(run, "config"))
		out, _ := cmd.Output()
		return bytes.Count(out, []byte(`"serial"`)) == cameras
	})
	first.interrupt()

	// A restart keeps the previous logs and, the cameras being onboarded, suggests what to
	// do with them instead of onboarding them again.
	again := startRun(t, env)
	again.waitFor("the banner after a restart", func() bool { return strings.Contains(again.out.String(), bannerDone) })
	if _, err := os.Stat(filepath.Join(run, "relay.log.1")); err != nil {
		t.Errorf("the previous run's relay log is gone: %v", err)
	}
	banner = again.out.String()
	if strings.Contains(banner, "edgehosts onboard") {
		t.Errorf("after a restart the banner suggests onboarding cameras that are onboarded:\n%s", banner)
	}
	for _, want := range []string{"devices list --org default", "jobs create --org default", "/devices/ACCC8E010000/vapix/axis-cgi/jpg/image.cgi"} {
		if !strings.Contains(banner, want) {
			t.Errorf("after a restart the banner lacks %q:\n%s", want, banner)
		}
	}
	pasteSteps(t, banner)
	if b, err := os.ReadFile(filepath.Join(run, "snap.jpg")); err != nil || !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
		t.Errorf("the suggested snapshot is not a JPEG (%v)", err)
	}
	again.interrupt()
}

// pasteSteps runs the banner's suggested commands (the indented lines after "Next,") in
// one shell, as a person pasting them would, and fails on the first that fails.
func pasteSteps(t *testing.T, banner string) {
	t.Helper()
	_, steps, ok := strings.Cut(banner, "\nNext,")
	if !ok {
		t.Fatalf("no next steps in the banner:\n%s", banner)
	}
	var script strings.Builder
	for line := range strings.Lines(steps) {
		if rest, ok := strings.CutPrefix(line, "  "); ok {
			script.WriteString(rest)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the suggested commands fail (%v):\n%s\noutput:\n%s", err, script.String(), out)
	}
}

// portOf is the relay's port in a make run environment.
func portOf(t *testing.T, env []string) int {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RELAY_ADDR=127.0.0.1:"); ok {
			return must(strconv.Atoi(v))
		}
	}
	t.Fatal("no RELAY_ADDR")
	return 0
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
