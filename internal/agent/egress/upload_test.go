package egress

import (
	"errors"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// gatedWriter passes writes on, and once gateAt bytes went through it waits (up to a
// deadline) for open to report true before writing more: the rest of the image is held
// back until the device shows it started receiving.
type gatedWriter struct {
	w       io.Writer
	n       int64
	gateAt  int64
	open    func() bool
	opened  atomic.Bool
	timeout time.Duration
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if g.n >= g.gateAt && !g.opened.Load() {
		deadline := time.Now().Add(g.timeout)
		for !g.open() {
			if time.Now().After(deadline) {
				return 0, errors.New("the device did not start receiving while the rest was held back")
			}
			time.Sleep(2 * time.Millisecond) // a poll on the body's goroutine, where testtool.WaitFor cannot fail the test
		}
		g.opened.Store(true)
	}
	n, err := g.w.Write(p)
	g.n += int64(n)
	return n, err
}

// generatedImage is a camsim firmware image of size payload bytes produced as it is
// read, with the rest held back after gateAt bytes until open reports true.
func generatedImage(h camsim.FirmwareHeader, size, gateAt int64, open func() bool) (io.Reader, *gatedWriter) {
	pr, pw := io.Pipe()
	g := &gatedWriter{w: pw, gateAt: gateAt, open: open, timeout: 30 * time.Second}
	go func() { pw.CloseWithError(camsim.WriteFirmwareImage(g, h, size)) }()
	return pr, g
}

// TestFirmwareUploadStreams upgrades a camera with a ~100 MiB image generated on the fly,
// through the proxy. The image never exists whole: the generator holds the rest back
// after 16 MiB until 8 MiB have reached the camera's connection (a TCP tap between proxy
// and camera counts them), so the proxy must be streaming; and the bytes allocated over
// the whole upload stay far below its size.
func TestFirmwareUploadStreams(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 24 << 20
	}
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	tap := newTCPTap(t, hostOf(t, cam.Info().HTTP))
	inv.set(cam.Info().Serial, Target{Addr: tap.addr(), User: agentUser, Password: agentPassword})
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)
	c := viaProxy(t, srv, cam.Info().Serial)
	if _, err := c.FirmwareStatus(ctx); err != nil {
		t.Fatal(err)
	}
	hdr := camsim.FirmwareHeader{Version: "12.11.90"}
	atStart := tap.sent.Load()
	image, gate := generatedImage(hdr, size, 16<<20, func() bool { return tap.sent.Load()-atStart >= 8<<20 })

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	version, err := c.UpgradeFirmware(ctx, image, camsim.FirmwareImageSize(hdr, size), vapix.UpgradeOptions{}, nil)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("%v (camera counted %+v)", err, cam.Counters())
	}
	if version != hdr.Version {
		t.Fatalf("upgrade answered version %q; want %q", version, hdr.Version)
	}
	if !gate.opened.Load() || gate.n != camsim.FirmwareImageSize(hdr, size) {
		t.Fatalf("generator wrote %d bytes (gate opened: %v)", gate.n, gate.opened.Load())
	}
	// The camera counts an upload once it has read the whole image, which may be just
	// after it answered.
	testtool.WaitFor(t, 10*time.Second, "the camera to count the upload", func() bool { return cam.Counters().FirmwareUploads == 1 })
	if n := tap.sent.Load() - atStart; n < camsim.FirmwareImageSize(hdr, size) {
		t.Fatalf("%d bytes reached the camera for a %d byte image", n, camsim.FirmwareImageSize(hdr, size))
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB image through the proxy in %s; %.1f MiB allocated in the whole process (client, proxy, camera)",
		size>>20, elapsed.Round(time.Millisecond), float64(alloc)/(1<<20))
	if alloc > uint64(size)/4 {
		t.Errorf("%d MiB allocated while streaming a %d MiB image: the body is being held somewhere", alloc>>20, size>>20)
	}
	// The camera reboots into the new image.
	admin := directClient(t, cam, agentUser, agentPassword)
	testtool.WaitFor(t, 20*time.Second, "the camera to run the new image", func() bool {
		st, err := admin.FirmwareStatus(ctx)
		return err == nil && st.ActiveFirmwareVersion == hdr.Version
	})
}
