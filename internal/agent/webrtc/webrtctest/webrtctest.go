// Package webrtctest helps tests outside the publisher act as a WebRTC viewer: a pion
// peer with the default codecs and interceptors (NACK, RTCP reports, TWCC), as a browser
// has them, gathering loopback candidates only.
package webrtctest

import (
	"testing"

	"github.com/pion/interceptor"
	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/opencamcloud/camcloud/internal/agent/webrtc"
)

// ViewerPeer is a new peer connection for a test viewer; the caller closes it.
func ViewerPeer(tb testing.TB) *pwebrtc.PeerConnection {
	tb.Helper()
	m := &pwebrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := pwebrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		tb.Fatal(err)
	}
	api := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(m), pwebrtc.WithInterceptorRegistry(ir), pwebrtc.WithSettingEngine(webrtc.LoopbackOnly()))
	pc, err := api.NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	return pc
}
