package camsim

import (
	"encoding/json"
	"slices"
)

// dynamicoverlay.cgi (vapix.md section 9): text overlays identified by an identity that
// is never reused. Error codes are not documented; camsim answers 1000 "Invalid parameter"
// (a simulator choice, mirroring the basicdeviceinfo family).

type overlayParams struct {
	Identity    *int            `json:"identity"`
	Camera      *int            `json:"camera"`
	Text        *string         `json:"text"`
	Position    json.RawMessage `json:"position"`
	FontSize    *int            `json:"fontSize"`
	TextColor   *string         `json:"textColor"`
	TextBGColor *string         `json:"textBGColor"`
	TextOLColor *string         `json:"textOLColor"`
	Visible     *bool           `json:"visible"`
}

var overlayPositions = []string{"topLeft", "top", "topRight", "bottomLeft", "bottom", "bottomRight"}
var overlayColors = []string{"black", "white", "red", "transparent", "semiTransparent"}

// apply checks and copies the given fields onto o.
func (p overlayParams) apply(o *Overlay) bool {
	if p.Camera != nil {
		if *p.Camera != 1 {
			return false
		}
		o.Camera = *p.Camera
	}
	if p.Text != nil {
		if len(*p.Text) > 512 {
			return false
		}
		o.Text = *p.Text
	}
	if len(p.Position) > 0 {
		var name string
		var xy []float64
		switch {
		case json.Unmarshal(p.Position, &name) == nil && slices.Contains(overlayPositions, name):
			o.Position = name
		case json.Unmarshal(p.Position, &xy) == nil && len(xy) == 2 && xy[0] >= -1 && xy[0] <= 1 && xy[1] >= -1 && xy[1] <= 1:
			o.Position = xy
		default:
			return false
		}
	}
	if p.FontSize != nil {
		if *p.FontSize < 8 || *p.FontSize > 200 {
			return false
		}
		o.FontSize = *p.FontSize
	}
	for _, c := range []struct {
		in  *string
		out *string
	}{{p.TextColor, &o.TextColor}, {p.TextBGColor, &o.TextBGColor}, {p.TextOLColor, &o.TextOLColor}} {
		if c.in != nil {
			if !slices.Contains(overlayColors, *c.in) {
				return false
			}
			*c.out = *c.in
		}
	}
	if p.Visible != nil {
		o.Visible = *p.Visible
	}
	return true
}

func (c *Camera) handleDynamicOverlay(q *request) {
	api := apiOverlay
	req, ok := q.readJSON(api)
	if !ok {
		return
	}
	var p overlayParams
	if req.Method != "getSupportedVersions" && !q.params(api, req, &p) {
		return
	}
	invalid := func() { q.jsonError(api, req, 1000, "Invalid parameter") }
	switch req.Method {
	case "getSupportedVersions":
		q.supportedVersions(api, req)
	case "getOverlayCapabilities":
		q.jsonData(api, req, map[string]any{
			"positions": overlayPositions, "colors": overlayColors,
			"fontSizeMin": 8, "fontSizeMax": 200, "maxTextOverlays": 10,
		})
	case "addText":
		o := Overlay{Camera: 1, Position: "topLeft", FontSize: 32, TextColor: "white", TextBGColor: "transparent", TextOLColor: "black", Visible: true}
		if p.Text == nil || !p.apply(&o) {
			invalid()
			return
		}
		err := c.update(func(st *State) error {
			if len(st.Overlays) >= 10 {
				return errParamRejected
			}
			o.Identity = max(st.NextOverlay, 1)
			o.ZIndex = len(st.Overlays)
			st.NextOverlay = o.Identity + 1
			st.Overlays = append(st.Overlays, o)
			return nil
		})
		if err != nil {
			invalid()
			return
		}
		q.jsonData(api, req, map[string]int{"camera": o.Camera, "identity": o.Identity})
	case "setText":
		if p.Identity == nil {
			invalid()
			return
		}
		err := c.update(func(st *State) error {
			i := slices.IndexFunc(st.Overlays, func(o Overlay) bool { return o.Identity == *p.Identity })
			if i < 0 || !p.apply(&st.Overlays[i]) {
				return errParamRejected
			}
			return nil
		})
		if err != nil {
			invalid()
			return
		}
		q.jsonData(api, req, struct{}{})
	case "remove":
		if p.Identity == nil {
			invalid()
			return
		}
		err := c.update(func(st *State) error {
			i := slices.IndexFunc(st.Overlays, func(o Overlay) bool { return o.Identity == *p.Identity })
			if i < 0 {
				return errParamRejected
			}
			st.Overlays = slices.Delete(st.Overlays, i, i+1)
			return nil
		})
		if err != nil {
			invalid()
			return
		}
		q.jsonData(api, req, struct{}{})
	case "list":
		var list []Overlay
		c.view(func(st *State) { list = slices.Clone(st.Overlays) })
		if p.Camera != nil {
			list = slices.DeleteFunc(list, func(o Overlay) bool { return o.Camera != *p.Camera })
		}
		if list == nil {
			list = []Overlay{}
		}
		q.jsonData(api, req, map[string]any{"textOverlays": list, "imageOverlays": []any{}})
	case "addImage", "setImage":
		q.jsonError(api, req, 1000, "Image overlays are not supported by this device")
	default:
		q.jsonError(api, req, 1000, "Method not supported")
	}
}
