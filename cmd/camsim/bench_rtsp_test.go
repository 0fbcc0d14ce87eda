package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/media"
)

// BenchmarkLiveStreams pulls 1080p video (about 4 Mbit/s, 25 fps) from every camera of a
// camsim process at once over RTSP (TCP interleaved), as a recorder or a wall of live
// views would, and reports camsim's CPU (from /proc, in cores) over a 10 s window, and for
// the streams: the lowest frame rate any of them kept, how many fell behind (below 24 fps,
// a gap in the frame sequence numbers, or a frame more than a second old on arrival), and
// the total bit rate. Frames are checked by the stamp camsim puts in each one. The readers
// run in this process on the same 2 cores. Baseline: one camera, the same way.
// Goal for 100 cameras: camsim under half a core, no stream behind.
func BenchmarkLiveStreams(b *testing.B) {
	testtool.Require(b, "ffmpeg")
	bin := filepath.Join(b.TempDir(), "camsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build camsim: %v\n%s", err, out)
	}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("cameras=%d", n), func(b *testing.B) {
			var r liveResult
			for b.Loop() {
				r = pullStreams(b, bin, n, 10*time.Second)
			}
			b.ReportMetric(r.cores, "cores-camsim")
			b.ReportMetric(r.minFPS, "fps-min")
			b.ReportMetric(float64(r.behind), "streams-behind")
			b.ReportMetric(r.mbps, "Mbit/s")
			b.ReportMetric(float64(r.maxLate.Milliseconds()), "ms-max-age")
			b.ReportMetric(float64(r.rssKiB)/1024, "MiB-rss")
		})
	}
}

type liveResult struct {
	cores   float64
	minFPS  float64
	behind  int
	mbps    float64
	maxLate time.Duration
	rssKiB  int64
}

// viewer is one RTSP reader and what it saw.
type viewer struct {
	client  *gortsplib.Client
	frames  atomic.Int64
	bytes   atomic.Int64
	gaps    atomic.Int64
	unknown atomic.Int64 // frames without a stamp
	maxLate atomic.Int64 // ns, while measuring
	lastSeq uint64       // owned by the client's read goroutine
	started bool
}

func pullStreams(b *testing.B, bin string, n int, window time.Duration) liveResult {
	b.Helper()
	cmd := exec.Command(bin, "--count", strconv.Itoa(n), "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--log-level", "error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	var urls []string
	sc := bufio.NewScanner(stdout)
	for len(urls) < n && sc.Scan() {
		var info struct {
			RTSP string `json:"rtsp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &info); err != nil {
			b.Fatalf("camsim line %q: %v", sc.Text(), err)
		}
		urls = append(urls, strings.Replace(info.RTSP, "rtsp://", "rtsp://root:pass@", 1)+"?resolution=1920x1080")
	}
	if len(urls) != n {
		b.Fatalf("camsim listed %d of %d cameras", len(urls), n)
	}

	viewers := make([]*viewer, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var measuring atomic.Bool
	for i, u := range urls {
		v := &viewer{}
		viewers[i] = v
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.play(u, &measuring); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for _, v := range viewers {
		if v.client != nil {
			defer v.client.Close()
		}
	}
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	// Measure once every stream has played a second of video (from its first key frame).
	testtool.WaitFor(b, 30*time.Second, "every stream to play 25 frames", func() bool {
		for _, v := range viewers {
			if v.frames.Load() < 25 {
				return false
			}
		}
		return true
	})
	frames0 := make([]int64, n)
	var bytes0 int64
	for i, v := range viewers {
		frames0[i] = v.frames.Load()
		bytes0 += v.bytes.Load()
		v.gaps.Store(0)
	}
	cpu0 := procCPU(b, cmd.Process.Pid)
	t0 := time.Now()
	measuring.Store(true)
	time.Sleep(window) // the window measured
	measuring.Store(false)
	elapsed := time.Since(t0)
	cpu1 := procCPU(b, cmd.Process.Pid)
	r := liveResult{minFPS: 1e9, cores: (cpu1 - cpu0).Seconds() / elapsed.Seconds(), rssKiB: rssKiB(b, cmd.Process.Pid)}
	var bytes1 int64
	var rates []float64
	for i, v := range viewers {
		fps := float64(v.frames.Load()-frames0[i]) / elapsed.Seconds()
		rates = append(rates, fps)
		r.minFPS = min(r.minFPS, fps)
		late := time.Duration(v.maxLate.Load())
		r.maxLate = max(r.maxLate, late)
		if fps < 24 || v.gaps.Load() > 0 || v.unknown.Load() > 0 || late > time.Second {
			r.behind++
		}
		bytes1 += v.bytes.Load()
	}
	r.mbps = float64(bytes1-bytes0) * 8 / elapsed.Seconds() / 1e6
	slices.Sort(rates)
	b.Logf("%d streams: camsim %.3f cores, fps min %.2f median %.2f, %d behind, %.1f Mbit/s, oldest frame on arrival %s",
		n, r.cores, r.minFPS, rates[len(rates)/2], r.behind, r.mbps, r.maxLate)
	return r
}

// play connects, sets up the video track over TCP and counts what arrives.
func (v *viewer) play(raw string, measuring *atomic.Bool) error {
	u, err := base.ParseURL(raw)
	if err != nil {
		return err
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return fmt.Errorf("%s: %w", raw, err)
	}
	v.client = c
	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe %s: %w", raw, err)
	}
	var h264f *format.H264
	medi := desc.FindFormat(&h264f)
	if medi == nil {
		return fmt.Errorf("%s: no H.264 track", raw)
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return fmt.Errorf("setup %s: %w", raw, err)
	}
	dec, err := h264f.CreateDecoder()
	if err != nil {
		return err
	}
	c.OnPacketRTP(medi, h264f, func(pkt *rtp.Packet) {
		v.bytes.Add(int64(len(pkt.Payload)))
		au, err := dec.Decode(pkt)
		if err != nil {
			return
		}
		st, ok := media.FindStamp(media.CodecH264, au)
		if !ok {
			v.unknown.Add(1)
			return
		}
		if v.started && st.Seq != v.lastSeq+1 {
			v.gaps.Add(1)
		}
		v.started, v.lastSeq = true, st.Seq
		v.frames.Add(1)
		if measuring.Load() {
			if late := int64(time.Since(st.Capture)); late > v.maxLate.Load() {
				v.maxLate.Store(late)
			}
		}
	})
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play %s: %w", raw, err)
	}
	return nil
}

// procCPU is the user and system CPU time a process used so far (/proc/PID/stat, in clock
// ticks of 10 ms as Linux reports them to user space).
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read CPU of camsim: %v", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parse /proc/%d/stat: %q", pid, data)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
