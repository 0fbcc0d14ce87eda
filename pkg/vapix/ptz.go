package vapix

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// PTZPosition returns where the camera (1-based) points; ErrNotFound when it has no PTZ.
func (c *Client) PTZPosition(ctx context.Context, camera int) (PTZPosition, error) {
	text, err := c.ptzQuery(ctx, camera, "position")
	if err != nil {
		return PTZPosition{}, err
	}
	p, err := ParsePTZPosition(text)
	if err != nil {
		return PTZPosition{}, fmt.Errorf("vapix: ptz position: %w", err)
	}
	return p, nil
}

// PTZLimits returns the limits (MinPan, MaxPan, ... as the device names them).
func (c *Client) PTZLimits(ctx context.Context, camera int) (map[string]float64, error) {
	text, err := c.ptzQuery(ctx, camera, "limits")
	if err != nil {
		return nil, err
	}
	kv, err := ParseKeyValues(text)
	if err != nil {
		return nil, fmt.Errorf("vapix: ptz limits: %w", err)
	}
	if len(kv) == 0 {
		return nil, fmt.Errorf("vapix: ptz limits: %w: device has no PTZ", ErrNotFound)
	}
	out := make(map[string]float64, len(kv))
	for _, e := range kv {
		v, err := strconv.ParseFloat(e[1], 64)
		if err != nil {
			return nil, fmt.Errorf("vapix: ptz limits: %w: %s=%q", ErrMalformed, e[0], e[1])
		}
		out[e[0]] = v
	}
	return out, nil
}

// PTZPresets returns the preset positions by number.
func (c *Client) PTZPresets(ctx context.Context, camera int) (map[int]string, error) {
	text, err := c.ptzQuery(ctx, camera, "presetposcam")
	if err != nil {
		return nil, err
	}
	kv, err := ParseKeyValues(text)
	if err != nil {
		return nil, fmt.Errorf("vapix: ptz presets: %w", err)
	}
	out := map[int]string{}
	for _, e := range kv {
		if n, ok := strings.CutPrefix(e[0], "presetposno"); ok {
			if i, err := strconv.Atoi(n); err == nil {
				out[i] = e[1]
			}
		}
	}
	return out, nil
}

func (c *Client) ptzQuery(ctx context.Context, camera int, query string) (string, error) {
	text, err := c.cgi(ctx, "/axis-cgi/com/ptz.cgi", url.Values{"camera": {strconv.Itoa(max(camera, 1))}, "query": {query}})
	if err != nil {
		return "", fmt.Errorf("vapix: ptz %s: %w", query, err)
	}
	return text, nil
}

// PTZCommand is one ptz.cgi control request; set the fields to send.
type PTZCommand struct {
	Camera             int
	Pan, Tilt, Zoom    *float64 // absolute
	RPan, RTilt, RZoom *float64 // relative
	Move               string   // home, up, down, left, right, upleft, ..., stop
	ContinuousPanTilt  *[2]float64
	ContinuousZoom     *float64
	Speed              int
	SetPresetName      string
	GotoPresetName     string
	RemovePresetName   string
}

func (p PTZCommand) args() url.Values {
	v := url.Values{"camera": {strconv.Itoa(max(p.Camera, 1))}}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for k, x := range map[string]*float64{"pan": p.Pan, "tilt": p.Tilt, "zoom": p.Zoom, "rpan": p.RPan, "rtilt": p.RTilt, "rzoom": p.RZoom, "continuouszoommove": p.ContinuousZoom} {
		if x != nil {
			v.Set(k, f(*x))
		}
	}
	if p.ContinuousPanTilt != nil {
		v.Set("continuouspantiltmove", f(p.ContinuousPanTilt[0])+","+f(p.ContinuousPanTilt[1]))
	}
	for k, s := range map[string]string{"move": p.Move, "setserverpresetname": p.SetPresetName, "gotoserverpresetname": p.GotoPresetName, "removeserverpresetname": p.RemovePresetName} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if p.Speed > 0 {
		v.Set("speed", strconv.Itoa(p.Speed))
	}
	return v
}

// PTZ sends a control command.
func (c *Client) PTZ(ctx context.Context, cmd PTZCommand) error {
	if _, err := c.cgi(ctx, "/axis-cgi/com/ptz.cgi", cmd.args()); err != nil {
		return fmt.Errorf("vapix: ptz: %w", err)
	}
	return nil
}

// Float is a helper for PTZCommand's optional numbers.
func Float(v float64) *float64 { return &v }
