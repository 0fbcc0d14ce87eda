package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// VideoKey names one encoding: everything that needs a different encoder run. Frame stamps,
// sequence numbers and timestamps are added when sent, so they are not part of it.
type VideoKey struct {
	Codec         string // CodecH264 or CodecH265
	Width, Height int
	FPS           int // frames per second
	GOP           int // frames from one key frame to the next
}

func (k VideoKey) String() string {
	return fmt.Sprintf("%s %dx%d %d fps, GOP %d", k.Codec, k.Width, k.Height, k.FPS, k.GOP)
}

// Bitrate is what the encoder is asked for, in bits per second: about 4 Mbit/s for 1080p at
// 25 fps, as a camera's default stream in a busy scene, scaled by pixels and frame rate.
func (k VideoKey) Bitrate() int {
	b := int64(4_000_000) * int64(k.Width*k.Height) / (1920 * 1080) * int64(k.FPS) / 25
	if k.Codec == CodecH265 {
		b = b * 6 / 10 // H.265 spends about 40 % fewer bits on the same picture
	}
	return int(max(b, 64_000))
}

// LoopFrames is the length of the loop: at least two seconds and a whole number of GOPs, so
// that the loop point is a key frame and every GOP has its full length.
func (k VideoKey) LoopFrames() int {
	n := 2 * k.FPS
	return (n + k.GOP - 1) / k.GOP * k.GOP
}

// Limits of what LoadVideo encodes.
const (
	MaxFPS = 60
	MaxGOP = 1023 // as videokeyframeinterval allows
)

func (k VideoKey) validate() error {
	switch {
	case k.Codec != CodecH264 && k.Codec != CodecH265:
		return fmt.Errorf("media: codec %q not supported", k.Codec)
	case k.Width < 16 || k.Height < 16 || k.Width > 4096 || k.Height > 4096 || k.Width%2 != 0 || k.Height%2 != 0:
		return fmt.Errorf("media: size %dx%d not supported", k.Width, k.Height)
	case k.FPS < 1 || k.FPS > MaxFPS:
		return fmt.Errorf("media: %d fps not supported", k.FPS)
	case k.GOP < 1 || k.GOP > MaxGOP:
		return fmt.Errorf("media: GOP %d not supported", k.GOP)
	}
	return nil
}

// CacheDirEnv names the environment variable that moves the disk cache of encoded clips
// (default: the user's cache directory, camsim/media).
const CacheDirEnv = "CAMSIM_MEDIA_CACHE"

type libEntry struct {
	once sync.Once
	clip *Clip
	err  error
}

var library sync.Map // VideoKey -> *libEntry

// ErrNoEncoder says ffmpeg is not installed, so only the built-in clip can be served.
var ErrNoEncoder = errors.New("media: ffmpeg is not installed; only the built-in 640x360 H.264 clip is available")

// noEncoderWarned makes the fallback to the built-in clip logged once per process.
var noEncoderWarned sync.Once

// LoadVideo returns the clip for key: from memory if this process has it, else from the disk
// cache, else encoded now with ffmpeg (libx264 or libx265, one thread, so the output is the
// same bytes on every run) and cached. Each key is encoded at most once per machine and
// loaded at most once per process; every camera and viewer shares the result.
//
// Without ffmpeg it returns the built-in clip (H.264 640x360, 25 fps, GOP 25) for any H.264
// key, so that camsim still streams where ffmpeg is missing (the SDP then tells the real
// size), and ErrNoEncoder for H.265.
func LoadVideo(key VideoKey) (*Clip, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	v, _ := library.LoadOrStore(key, &libEntry{})
	e := v.(*libEntry)
	e.once.Do(func() {
		e.clip, e.err = loadVideo(key)
	})
	return e.clip, e.err
}

func loadVideo(key VideoKey) (*Clip, error) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		if key.Codec != CodecH264 {
			return nil, ErrNoEncoder
		}
		noEncoderWarned.Do(func() {
			slog.Warn("ffmpeg not found: every H.264 stream is the built-in 640x360 clip", "err", ErrNoEncoder)
		})
		return DefaultClip()
	}
	args := encodeArgs(key)
	dir, err := cacheDir()
	if err != nil {
		return nil, err
	}
	version, err := exec.Command(ffmpeg, "-hide_banner", "-version").Output()
	if err != nil {
		return nil, fmt.Errorf("media: ffmpeg -version: %w", err)
	}
	// The name carries a hash of the encoder's version and arguments: a new ffmpeg or a
	// change of recipe makes a new file instead of reusing one made differently.
	sum := sha256.New()
	sum.Write(version)
	for _, a := range args {
		sum.Write([]byte(a + "\x00"))
	}
	name := fmt.Sprintf("%s-%dx%d-%dfps-gop%d-%s.%s", key.Codec, key.Width, key.Height, key.FPS, key.GOP,
		hex.EncodeToString(sum.Sum(nil))[:12], key.Codec)
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = encodeLocked(ffmpeg, args, path)
	}
	if err != nil {
		return nil, err
	}
	clip, err := parseClip(key, data)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	if want := key.LoopFrames(); len(clip.Frames) != want {
		return nil, fmt.Errorf("media: %s holds %d frames, want %d", path, len(clip.Frames), want)
	}
	return clip, nil
}

func cacheDir() (string, error) {
	dir := os.Getenv(CacheDirEnv)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "camsim", "media")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("media: cache dir: %w", err)
	}
	return dir, nil
}

// encodeLocked runs ffmpeg into path unless another process, holding the lock, did it first:
// test binaries of several packages start at once and would otherwise all encode.
func encodeLocked(ffmpeg string, args []string, path string) ([]byte, error) {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("media: cache lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("media: cache lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if data, err := os.ReadFile(path); err == nil {
		return data, nil
	}
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)
	full = append(full, tmp)
	if out, err := exec.CommandContext(ctx, ffmpeg, full...).CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("media: ffmpeg %v: %w: %s", full, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("media: cache: %w", err)
	}
	return os.ReadFile(path)
}

// encodeArgs is the recipe: ffmpeg's moving test pattern with a little temporal noise (so
// that P frames carry real detail and the bit rate is spent on picture, not padding), no
// B frames as Axis cameras send, a fixed GOP, access unit delimiters and parameter sets
// before every key frame.
func encodeArgs(k VideoKey) []string {
	frames := k.LoopFrames()
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d,noise=alls=6:allf=t", k.Width, k.Height, k.FPS)
	rate := strconv.Itoa(k.Bitrate())
	buf := strconv.Itoa(k.Bitrate() / 2)
	args := []string{"-f", "lavfi", "-i", src, "-frames:v", strconv.Itoa(frames), "-filter_threads", "1",
		"-pix_fmt", "yuv420p", "-b:v", rate, "-maxrate", rate, "-bufsize", buf}
	g := strconv.Itoa(k.GOP)
	if k.Codec == CodecH265 {
		return append(args, "-c:v", "libx265", "-preset", "veryfast",
			"-x265-params", "pools=1:frame-threads=1:log-level=error:aud=1:repeat-headers=1:bframes=0:scenecut=0:keyint="+g+":min-keyint="+g,
			"-f", "hevc")
	}
	return append(args, "-c:v", "libx264", "-preset", "veryfast", "-threads", "1", "-profile:v", "main",
		"-g", g, "-keyint_min", g, "-sc_threshold", "0", "-bf", "0",
		"-x264-params", "aud=1:repeat-headers=1", "-f", "h264")
}
