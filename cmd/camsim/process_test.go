package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// TestMain lets the test binary run as the camsim program itself (signal handling, exit
// codes and all) when a test starts it with CAMSIM_RUN_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("CAMSIM_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// camsimProcess starts the camsim program with args; stdout and stderr are collected.
func camsimProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CAMSIM_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &stderr, bufio.NewScanner(out)
}

// waitExit waits at most d for the process to end and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("camsim still running after %s", d)
		return -1
	}
}

// A port another process holds is a clear error and a prompt exit, for the HTTP port and
// for the RTSP port alike (a fleet whose start fails used to deadlock in Close and then
// ignore SIGINT and SIGTERM).
func TestTakenPortExitsWithError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	for _, args := range [][]string{
		{"--count", "3", "--listen", "127.0.0.1:" + port, "--rtsp-listen", "127.0.0.1:0"},
		{"--count", "2", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:" + port},
	} {
		start := time.Now()
		cmd, stderr, _ := camsimProcess(t, append(args, "--log-level", "error")...)
		code := waitExit(t, cmd, 15*time.Second)
		if code == 0 {
			t.Errorf("camsim %v exited 0 on a taken port", args)
		}
		if msg := stderr.String(); !strings.Contains(msg, "127.0.0.1:"+port+" is already in use") {
			t.Errorf("camsim %v said %q, want the taken port named", args, msg)
		}
		t.Logf("camsim %v exited %d after %s", args, code, time.Since(start).Round(time.Millisecond))
	}
}

// SIGTERM stops a running camsim cleanly (exit 0).
func TestSIGTERMStopsCamsim(t *testing.T) {
	cmd, stderr, out := camsimProcess(t, "--count", "2", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0",
		"--control", "127.0.0.1:0", "--log-level", "error")
	for range 2 {
		if !out.Scan() {
			t.Fatalf("camsim printed no camera line; stderr: %s", stderr)
		}
		var info camsim.Info
		if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.HTTP == "" {
			t.Fatalf("camera line %q: %v", out.Text(), err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 15*time.Second); code != 0 {
		t.Fatalf("camsim exited %d after SIGTERM; stderr: %s", code, stderr)
	}
}
