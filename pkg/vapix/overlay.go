package vapix

import (
	"context"
	"fmt"
)

// TextOverlay is a dynamic text overlay (vapix.md section 9). Position is a name
// (topLeft, top, topRight, bottomLeft, bottom, bottomRight) or [x, y] in -1..1.
type TextOverlay struct {
	Identity    int    `json:"identity,omitempty"`
	Camera      int    `json:"camera,omitempty"`
	Text        string `json:"text,omitempty"`
	Position    any    `json:"position,omitempty"`
	FontSize    int    `json:"fontSize,omitempty"`
	TextColor   string `json:"textColor,omitempty"`
	TextBGColor string `json:"textBGColor,omitempty"`
	TextOLColor string `json:"textOLColor,omitempty"`
	Visible     *bool  `json:"visible,omitempty"`
}

const overlayCGI = "dynamicoverlay/dynamicoverlay.cgi"

// AddTextOverlay creates a text overlay and returns its identity.
func (c *Client) AddTextOverlay(ctx context.Context, o TextOverlay) (int, error) {
	if o.Camera == 0 {
		o.Camera = 1
	}
	o.Identity = 0
	var d struct {
		Identity int `json:"identity"`
	}
	if err := c.jsonCall(ctx, c.http, overlayCGI, "1.0", "addText", o, &d); err != nil {
		return 0, fmt.Errorf("vapix: add text overlay: %w", err)
	}
	return d.Identity, nil
}

// SetTextOverlay changes the given fields of overlay o.Identity.
func (c *Client) SetTextOverlay(ctx context.Context, o TextOverlay) error {
	if err := c.jsonCall(ctx, c.http, overlayCGI, "1.0", "setText", o, nil); err != nil {
		return fmt.Errorf("vapix: set text overlay %d: %w", o.Identity, err)
	}
	return nil
}

// TextOverlays lists the text overlays of a camera (1-based; 0 lists all).
func (c *Client) TextOverlays(ctx context.Context, camera int) ([]TextOverlay, error) {
	var params any
	if camera > 0 {
		params = map[string]int{"camera": camera}
	}
	var d struct {
		TextOverlays []TextOverlay `json:"textOverlays"`
	}
	if err := c.jsonCall(ctx, c.http, overlayCGI, "1.0", "list", params, &d); err != nil {
		return nil, fmt.Errorf("vapix: list overlays: %w", err)
	}
	return d.TextOverlays, nil
}

// RemoveOverlay deletes an overlay.
func (c *Client) RemoveOverlay(ctx context.Context, identity int) error {
	if err := c.jsonCall(ctx, c.http, overlayCGI, "1.0", "remove", map[string]int{"identity": identity}, nil); err != nil {
		return fmt.Errorf("vapix: remove overlay %d: %w", identity, err)
	}
	return nil
}
