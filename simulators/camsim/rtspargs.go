package camsim

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opencamcloud/camcloud/simulators/media"
)

// RTSP (and HTTP video) arguments as vapix.md section 15 lists them, read into what the
// media server streams. Unknown arguments are ignored, as cameras ignore them.

// Defaults of a stream asked for without arguments. The frame rate is the capture rate of a
// camera in a 50 Hz region; the key frame interval is Axis' GOV length default, 32 frames
// [U: firmware-dependent].
const (
	defaultFPS = 25
	maxFPS     = 30
	defaultGOV = 32
)

// lookupStreamProfile resolves streamprofile=<name> to the profile's argument string (its
// Parameters, e.g. "resolution=1280x720&fps=15"), from the camera's stream profiles
// (streamprofile.go). It is the one seam between the stream profile API and streaming.
func lookupStreamProfile(c *Camera, name string) (params string, ok bool) {
	p, ok := c.StreamProfile(name)
	return p.Parameters, ok
}

// h265 reports whether the model encodes H.265: ARTPEC-7 and later do, ARTPEC-6 does not.
func (m Model) h265() bool { return m.Soc != "Axis Artpec-6" }

// videoArgs are the arguments shared by RTSP, image.cgi and video.cgi.
type videoArgs struct {
	codec         string
	width, height int
	fps           int
	gov           int
	compression   int
	video, audio  bool
	events        bool
}

var errUnknownProfile = errors.New("unknown stream profile")

// readVideoArgs applies a stream profile's arguments and then the request's own (later
// arguments override the profile, vapix.md 15) on top of the camera's defaults.
func (c *Camera) readVideoArgs(q url.Values) (videoArgs, error) {
	a := videoArgs{codec: media.CodecH264, fps: defaultFPS, gov: defaultGOV, compression: 30, video: true}
	res := c.id.Model.Resolutions[0]
	ws, hs, _ := strings.Cut(res, "x")
	a.width, _ = strconv.Atoi(ws)
	a.height, _ = strconv.Atoi(hs)
	var layers []url.Values
	if name := q.Get("streamprofile"); name != "" {
		params, ok := lookupStreamProfile(c, name)
		if !ok {
			return a, fmt.Errorf("%w %q", errUnknownProfile, name)
		}
		pq, err := url.ParseQuery(params)
		if err != nil {
			return a, fmt.Errorf("stream profile %q: %w", name, err)
		}
		layers = append(layers, pq)
	}
	layers = append(layers, q)
	for _, l := range layers {
		if err := c.applyVideoArgs(&a, l); err != nil {
			return a, err
		}
	}
	return a, nil
}

func (c *Camera) applyVideoArgs(a *videoArgs, q url.Values) error {
	intArg := func(name string, lo, hi int, dst *int) error {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s=%q: want %d..%d", name, v, lo, hi)
		}
		*dst = n
		return nil
	}
	boolArg := func(name, on, off string, dst *bool) error {
		switch v := q.Get(name); v {
		case "":
		case on:
			*dst = true
		case off:
			*dst = false
		default:
			return fmt.Errorf("%s=%q: want %s or %s", name, v, on, off)
		}
		return nil
	}
	if v := q.Get("resolution"); v != "" {
		if !slices.Contains(c.id.Model.Resolutions, v) {
			return fmt.Errorf("resolution %q not supported by %s", v, c.id.Model.ProdNbr)
		}
		ws, hs, _ := strings.Cut(v, "x")
		a.width, _ = strconv.Atoi(ws)
		a.height, _ = strconv.Atoi(hs)
	}
	if v := q.Get("camera"); v != "" && v != "1" {
		return fmt.Errorf("camera %q: this camera has one video channel", v)
	}
	switch v := q.Get("videocodec"); v {
	case "":
	case media.CodecH264:
		a.codec = v
	case media.CodecH265:
		if !c.id.Model.h265() {
			return fmt.Errorf("%s does not encode H.265", c.id.Model.ProdNbr)
		}
		a.codec = v
	default:
		return fmt.Errorf("videocodec %q not supported", v)
	}
	// fps=0 means as fast as the camera captures (vapix.md 15).
	fps := -1
	if err := intArg("fps", 0, maxFPS, &fps); err != nil {
		return err
	}
	switch {
	case fps == 0:
		a.fps = maxFPS
	case fps > 0:
		a.fps = fps
	}
	if err := intArg("videokeyframeinterval", 1, media.MaxGOP, &a.gov); err != nil {
		return err
	}
	if err := intArg("compression", 0, 100, &a.compression); err != nil {
		return err
	}
	if err := boolArg("video", "1", "0", &a.video); err != nil {
		return err
	}
	if err := boolArg("audio", "1", "0", &a.audio); err != nil {
		return err
	}
	return boolArg("event", "on", "off", &a.events)
}

// resolveStream reads an RTSP request's query into the media server's Spec.
func (c *Camera) resolveStream(query string) (media.Spec, error) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return media.Spec{}, fmt.Errorf("query: %w", err)
	}
	a, err := c.readVideoArgs(q)
	if err != nil {
		return media.Spec{}, err
	}
	if !a.video && !a.audio && !a.events {
		return media.Spec{}, errors.New("nothing to stream: video=0 without audio or events")
	}
	spec := media.Spec{Audio: a.audio, Events: a.events}
	if a.video {
		spec.Video = media.VideoKey{Codec: a.codec, Width: a.width, Height: a.height, FPS: a.fps, GOP: a.gov}
	}
	return spec, nil
}
