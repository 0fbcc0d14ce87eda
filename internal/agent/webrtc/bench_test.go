package webrtc

import (
	"syscall"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuShare runs fn and returns the process's CPU time per wall-clock second meanwhile.
func cpuShare(tb testing.TB, fn func()) float64 {
	c0, t0 := cpuTime(tb), time.Now()
	fn()
	return float64(cpuTime(tb)-c0) / float64(time.Since(t0))
}

// BenchmarkViewers measures the CPU one more viewer of a camera costs: 1080p at about
// 4 Mbit/s from camsim, first with 1 viewer, then with 50. Each iteration is one video
// frame at the first viewer. The figures include camsim's RTSP server and the in-process
// viewers' own receiving (SRTP decryption, RTCP), so a viewer costs the agent less than
// cpu/viewer says: viewers/core is a floor.
func BenchmarkViewers(b *testing.B) {
	const many = 50
	pub, cam := startPublisher(b, "resolution=1920x1080&fps=25", time.Minute)
	serial := cam.Identity().Serial
	first := watch(b, pub, serial)
	first.firstFrame(b)

	frames := func(n int) {
		target := first.frames.Load() + int64(n)
		testtool.WaitFor(b, time.Duration(n)*time.Second+30*time.Second, "frames at the first viewer", func() bool {
			return first.frames.Load() >= target
		})
	}
	one := cpuShare(b, func() { frames(50) }) // two seconds of video

	vs := []*testViewer{first}
	for len(vs) < many {
		vs = append(vs, watch(b, pub, serial))
	}
	for _, v := range vs[1:] {
		v.firstFrame(b)
	}
	frames(25) // settle after the joins' bursts

	// The timed loop gives ns/op, the time per frame: about 40 ms unless the machine cannot
	// keep up. The CPU figure is measured over a steady two seconds after it.
	b.ResetTimer()
	for b.Loop() {
		frames(1)
	}
	b.StopTimer()
	all := cpuShare(b, func() { frames(50) })

	perViewer := (all - one) / (many - 1)
	b.ReportMetric(one*100, "cpu%-1viewer")
	b.ReportMetric(all*100, "cpu%-50viewers")
	b.ReportMetric(perViewer*100, "cpu%/viewer")
	if perViewer > 0 {
		b.ReportMetric(1/perViewer, "viewers/core")
	}
	if c := cam.Counters(); c.RTSPSessions != 1 {
		b.Errorf("camera saw %d RTSP sessions, want 1", c.RTSPSessions)
	}
}
