package camsim

// PTZ limits of the simulated PTZ models, shared by param.cgi (PTZ.Limit.L1.*) and
// ptz.cgi (query=limits and clamping), so both always agree.
const (
	ptzMinPan        = -170.0
	ptzMaxPan        = 170.0
	ptzMinTilt       = -90.0
	ptzMaxTilt       = 20.0
	ptzMinZoom       = 1.0
	ptzMaxZoom       = 9999.0
	ptzMinFocus      = 1.0
	ptzMaxFocus      = 9999.0
	ptzMinIris       = 1.0
	ptzMaxIris       = 9999.0
	ptzMinBrightness = 1.0
	ptzMaxBrightness = 9999.0
)
