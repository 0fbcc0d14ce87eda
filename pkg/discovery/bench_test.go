package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// Environment of the benchmark's child processes.
const (
	benchEnv = "DISCOVERY_BENCH"       // "1": TestDiscoveryBenchHelper runs the measurement
	fleetEnv = "DISCOVERY_BENCH_FLEET" // N: TestDiscoveryFleetHelper runs N announced cameras
)

const (
	benchCameras = 500
	benchWatch   = 15 * time.Second // three sweeps at the default interval
)

// benchResult is what the measuring child reports.
type benchResult struct {
	ToAll      float64 `json:"s_to_all"` // from Run until every camera is listed
	CPUPercent float64 `json:"cpu_pct"`  // of one core, while watching the listed fleet
	HeapMiB    float64 `json:"heap_mib"` // live heap after a collection, while watching
	Goroutines int     `json:"goroutines"`
	Gone       int     `json:"gone"` // devices lost while watching (should be none)
}

// BenchmarkDiscovery500 measures the watcher against 500 cameras announced over mDNS, all
// in a network namespace of its own (so the multicast stays there): the seconds from Run
// until all 500 are listed with their facts (s-to-all), then, over 15 s of watching with
// the default configuration (a sweep every 5 s), the watcher process's CPU time as a
// percentage of one core (cpu-%, from getrusage) and its live heap (heap-MiB). The
// cameras run in a process of their own, so their work is not in the figures; the
// watcher runs in a child test process inside the namespace.
func BenchmarkDiscovery500(b *testing.B) {
	for b.Loop() {
		r := runBenchChild(b)
		b.ReportMetric(r.ToAll, "s-to-all")
		b.ReportMetric(r.CPUPercent, "cpu-%")
		b.ReportMetric(r.HeapMiB, "heap-MiB")
		b.ReportMetric(float64(r.Goroutines), "goroutines")
	}
}

// runBenchChild runs TestDiscoveryBenchHelper in a new network namespace and returns its
// result.
func runBenchChild(b *testing.B) benchResult {
	b.Helper()
	unshare := testtool.Require(b, "unshare")
	ip := testtool.Require(b, "ip")
	script := fmt.Sprintf(`%s link set lo up && %s link set lo multicast on && exec "$0" -test.run '^TestDiscoveryBenchHelper$' -test.v -test.count=1 -test.timeout=5m`, ip, ip)
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = []string{"--user", "--map-root-user", "--net"}
	}
	cmd := exec.Command(unshare, append(args, "sh", "-c", script, os.Args[0])...)
	cmd.Env = append(os.Environ(), benchEnv+"=1", "CAMCLOUD_IN_NETNS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("benchmark child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(strings.TrimSpace(line), "BENCHRESULT "); ok {
			var r benchResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				b.Fatalf("benchmark child result %q: %v", js, err)
			}
			return r
		}
	}
	b.Fatalf("benchmark child printed no result:\n%s", out)
	return benchResult{}
}

// TestDiscoveryBenchHelper is the measuring child of BenchmarkDiscovery500 (inside its
// namespace): it starts the cameras in a child of its own, then a watcher, and prints
// the figures as a BENCHRESULT line.
func TestDiscoveryBenchHelper(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skip("the child process of BenchmarkDiscovery500")
	}
	pid, stopFleet := startFleetChild(t, benchCameras)
	defer stopFleet()
	// The cameras' start-up announcements are a storm of their own in the camera
	// process (each of its 500 mDNS responders receives every packet); measure the
	// watcher once that is over.
	settled := waitIdle(t, pid, 30*time.Second)
	t.Logf("camera process idle %s after ready", settled.Round(time.Millisecond))

	var listed, gone atomic.Int64
	all := make(chan struct{})
	w, err := New(Config{
		OnEvent: func(e Event) {
			switch e.Kind {
			case EventAppeared:
				if listed.Add(1) == benchCameras {
					close(all)
				}
			case EventGone:
				gone.Add(1)
			}
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%d of %d cameras listed after 2 minutes", listed.Load(), benchCameras)
	}
	toAll := time.Since(start)

	runtime.GC()
	before, wallBefore := cpuTime(t), time.Now()
	time.Sleep(benchWatch) // the window whose CPU use is measured
	used, wall := cpuTime(t)-before, time.Since(wallBefore)
	goroutines := runtime.NumGoroutine()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if n := len(w.Devices()); n != benchCameras {
		t.Fatalf("%d of %d cameras listed after watching", n, benchCameras)
	}
	for _, d := range w.Devices() {
		if !d.Enriched { // a first read that timed out is retried by the next sweep
			t.Errorf("without facts after watching: %+v", d)
		}
	}
	js, _ := json.Marshal(benchResult{
		ToAll:      toAll.Seconds(),
		CPUPercent: 100 * used.Seconds() / wall.Seconds(),
		HeapMiB:    float64(ms.HeapAlloc) / (1 << 20),
		Goroutines: goroutines,
		Gone:       int(gone.Load()),
	})
	fmt.Printf("BENCHRESULT %s\n", js)
	t.Logf("all %d listed after %s", benchCameras, toAll.Round(time.Millisecond))
	if gone.Load() != 0 {
		t.Errorf("%d cameras reported gone while all of them kept running", gone.Load())
	}
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitIdle waits until process pid uses less than a tenth of a core over half a second,
// at most max, and returns how long that took.
func waitIdle(t testing.TB, pid int, max time.Duration) time.Duration {
	start := time.Now()
	prev := procCPU(t, pid)
	for time.Since(start) < max {
		time.Sleep(500 * time.Millisecond) // the window whose CPU use is measured
		now := procCPU(t, pid)
		if now-prev < 50*time.Millisecond {
			break
		}
		prev = now
	}
	return time.Since(start)
}

// procCPU is the user and system CPU time of process pid so far (/proc/PID/stat).
func procCPU(t testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name in parentheses; utime and stime are the 14th and
	// 15th fields of the line, in clock ticks (100 per second on Linux).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// startFleetChild starts n cameras announced over mDNS on loopback in a child process
// (TestDiscoveryFleetHelper), waits until they answer, and returns its process ID and
// what stops it.
func startFleetChild(t testing.TB, n int) (pid int, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDiscoveryFleetHelper$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), fleetEnv+"="+strconv.Itoa(n), benchEnv+"=")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		_ = cmd.Wait()
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return cmd.Process.Pid, stop
		}
	}
	stop()
	t.Fatalf("camera fleet child ended before it was ready: %v", sc.Err())
	return 0, nil
}

// TestDiscoveryFleetHelper is the camera process of BenchmarkDiscovery500: it runs
// DISCOVERY_BENCH_FLEET cameras announced over mDNS on loopback, says "ready" once they
// answer, and stops them when its stdin closes.
func TestDiscoveryFleetHelper(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(fleetEnv))
	if n == 0 {
		t.Skip("the camera process of BenchmarkDiscovery500")
	}
	fleet, err := camsim.New(camsim.Config{Count: n, Listen: "127.0.0.1:0", RTSPListen: "127.0.0.1:0", MDNS: true, MDNSInterface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}
