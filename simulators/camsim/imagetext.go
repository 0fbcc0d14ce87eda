package camsim

import (
	"image"
	"image/color"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	fixedpoint "golang.org/x/image/math/fixed"
)

// Text on snapshots and MJPEG frames: the camera's own text overlays (dynamicoverlay.cgi),
// and a label with its model, serial number and the time, so that a person looking at an
// image can tell which camera it came from, when, and that an overlay job reached it.
// Glyphs are the 7x13 fixed font of x/image, scaled up by whole pixels.

const glyphW, glyphH = 7, 13

// textMask renders s into an alpha mask one glyph cell per character.
func textMask(s string) *image.Alpha {
	m := image.NewAlpha(image.Rect(0, 0, max(1, len([]rune(s)))*glyphW, glyphH))
	d := font.Drawer{Dst: m, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixedpoint.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)
	return m
}

// ycc is a colour as the YCbCr planes hold it.
type ycc struct{ y, cb, cr uint8 }

func yccOf(name string) (ycc, bool) {
	var r, g, b uint8
	switch name {
	case "white":
		r, g, b = 255, 255, 255
	case "black":
		r, g, b = 0, 0, 0
	case "red":
		r, g, b = 230, 0, 0
	default:
		return ycc{}, false // transparent
	}
	y, cb, cr := color.RGBToYCbCr(r, g, b)
	return ycc{y, cb, cr}, true
}

// textBlock is one block of lines drawn at a place on the image.
type textBlock struct {
	lines    []string
	scale    int // pixels per glyph pixel
	fg, bg   string
	semi     bool    // a half-dark background
	ax, ay   float64 // anchor, -1..1 each: -1 left/top, 1 right/bottom
	fromSide bool    // ax/ay name a side or corner: keep a margin from the edge
}

// drawBlock draws b onto img.
func drawBlock(img *image.YCbCr, b textBlock) {
	if len(b.lines) == 0 {
		return
	}
	k := max(1, b.scale)
	pad := k * 2
	w := 0
	for _, l := range b.lines {
		w = max(w, len([]rune(l))*glyphW*k)
	}
	w += 2 * pad
	h := len(b.lines)*glyphH*k + 2*pad
	bounds := img.Bounds()
	margin := 0
	if b.fromSide {
		margin = max(4, bounds.Dy()/60)
	}
	x := int((b.ax+1)/2*float64(bounds.Dx()-w-2*margin)) + margin
	y := int((b.ay+1)/2*float64(bounds.Dy()-h-2*margin)) + margin
	box := image.Rect(x, y, x+w, y+h).Intersect(bounds)
	if bg, ok := yccOf(b.bg); ok || b.semi {
		for py := box.Min.Y; py < box.Max.Y; py++ {
			for px := box.Min.X; px < box.Max.X; px++ {
				yi, ci := img.YOffset(px, py), img.COffset(px, py)
				if b.semi {
					img.Y[yi] /= 2
					continue
				}
				img.Y[yi], img.Cb[ci], img.Cr[ci] = bg.y, bg.cb, bg.cr
			}
		}
	}
	fg, ok := yccOf(b.fg)
	if !ok {
		fg, _ = yccOf("white")
	}
	for i, l := range b.lines {
		m := textMask(l)
		mb := m.Bounds()
		for gy := 0; gy < mb.Dy(); gy++ {
			for gx := 0; gx < mb.Dx(); gx++ {
				if m.AlphaAt(gx, gy).A < 128 {
					continue
				}
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						p := image.Pt(x+pad+gx*k+dx, y+pad+(i*glyphH+gy)*k+dy)
						if !p.In(bounds) {
							continue
						}
						yi, ci := img.YOffset(p.X, p.Y), img.COffset(p.X, p.Y)
						img.Y[yi], img.Cb[ci], img.Cr[ci] = fg.y, fg.cb, fg.cr
					}
				}
			}
		}
	}
}

// expandModifiers replaces the strftime-style modifiers overlay text may hold (vapix.md 9:
// "%F %T" [U]) with the time t.
func expandModifiers(s string, t time.Time) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'm':
			b.WriteString(t.Format("01"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'S':
			b.WriteString(t.Format("05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// anchorOf places a named overlay position or an [x, y] pair (-1..1; camsim reads y = -1 as
// the top [U]).
func anchorOf(pos any) (ax, ay float64, side bool) {
	switch p := pos.(type) {
	case string:
		switch p {
		case "top":
			return 0, -1, true
		case "topRight":
			return 1, -1, true
		case "bottomLeft":
			return -1, 1, true
		case "bottom":
			return 0, 1, true
		case "bottomRight":
			return 1, 1, true
		}
		return -1, -1, true
	case []any:
		if len(p) == 2 {
			x, ok1 := p[0].(float64)
			y, ok2 := p[1].(float64)
			if ok1 && ok2 {
				return x, y, false
			}
		}
	case []float64:
		if len(p) == 2 {
			return p[0], p[1], false
		}
	}
	return -1, -1, true
}

// drawOverlays draws the camera's visible text overlays and its identity label onto img.
func (c *Camera) drawOverlays(img *image.YCbCr, overlays []Overlay, at time.Time) {
	h := img.Bounds().Dy()
	// Overlays sharing a named position stack away from its edge, as on a camera.
	stacked := map[string]int{}
	for _, o := range overlays {
		if !o.Visible || o.Camera > 1 {
			continue
		}
		ax, ay, side := anchorOf(o.Position)
		text := expandModifiers(o.Text, at)
		// fontSize is in pixels of a 1080-line image [U]; glyphs are 13 pixels high.
		k := max(1, (o.FontSize*h/1080+glyphH/2)/glyphH)
		b := textBlock{lines: strings.Split(text, "\n"), scale: k, fg: o.TextColor, bg: o.TextBGColor,
			semi: o.TextBGColor == "semiTransparent", ax: ax, ay: ay, fromSide: side}
		if side {
			key, _ := o.Position.(string)
			if n := stacked[key]; n > 0 {
				// Shift by the blocks already there: ay moves by their height in -1..1 units.
				step := float64(n*(glyphH*k+4*k)) * 2 / float64(max(1, h-glyphH*k))
				if ay > 0 {
					b.ay -= step
				} else {
					b.ay += step
				}
			}
			stacked[key] += len(b.lines)
		}
		drawBlock(img, b)
	}
	label := textBlock{
		lines: []string{c.id.Model.ProdShortName() + "  " + c.id.Serial, at.UTC().Format("2006-01-02 15:04:05") + " UTC"},
		scale: max(1, h/300), fg: "white", semi: true, ax: -1, ay: 1, fromSide: true,
	}
	if stacked["bottomLeft"] > 0 {
		label.ax = 1 // leave the corner to the camera's own overlay
	}
	drawBlock(img, label)
}
