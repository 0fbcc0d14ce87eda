package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkFleetStartup starts camsim as its own process, as `make run` does, and reports
// how long N cameras take until every one is listed on stdout (ready) and the resident
// memory of the process then. The baseline is a single-camera fleet started the same way
// in the same run; the goal for 1,000 cameras is under 10 s and under 1 GiB.
func BenchmarkFleetStartup(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "camsim")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build camsim: %v\n%s", err, out)
	}
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("cameras=%d", n), func(b *testing.B) {
			var ready time.Duration
			var rssKiB int64
			for b.Loop() {
				ready, rssKiB = startFleet(b, bin, n)
			}
			b.ReportMetric(ready.Seconds(), "s-ready")
			b.ReportMetric(float64(rssKiB)/1024, "MiB-rss")
			b.ReportMetric(float64(rssKiB)/float64(n), "KiB-rss/camera")
		})
	}
}

func startFleet(b *testing.B, bin string, n int) (time.Duration, int64) {
	b.Helper()
	cmd := exec.Command(bin, "--count", strconv.Itoa(n), "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--log-level", "error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	lines := 0
	for lines < n && sc.Scan() {
		lines++
	}
	ready := time.Since(start)
	if lines != n {
		b.Fatalf("camsim listed %d of %d cameras", lines, n)
	}
	return ready, rssKiB(b, cmd.Process.Pid)
}

// rssKiB reads VmRSS of a process from /proc.
func rssKiB(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read memory of camsim: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			return kib
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
