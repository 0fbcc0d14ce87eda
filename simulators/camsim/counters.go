package camsim

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Counters are what a camera counts for tests to assert on.
type Counters struct {
	FirmwareUploads int64            `json:"firmwareUploads"` // firmware images received whole, accepted or not
	AppUploads      int64            `json:"appUploads"`      // ACAP packages received by upload.cgi
	Reboots         int64            `json:"reboots"`         // reboots started (upgrade, rollback, restart, factory default)
	RTSPSessions    int64            `json:"rtspSessions"`    // RTSP sessions that started playing
	RTSPPlaying     int64            `json:"rtspPlaying"`     // RTSP sessions playing now (live and recordings)
	AudioBytes      int64            `json:"audioBytes"`      // audio received from clients (backchannel)
	Unauthorized    int64            `json:"unauthorized"`    // VAPIX requests answered 401
	Requests        map[string]int64 `json:"requests"`        // VAPIX requests by path
}

type counters struct {
	firmwareUploads atomic.Int64
	appUploads      atomic.Int64
	reboots         atomic.Int64
	rtspSessions    atomic.Int64
	audioBytes      atomic.Int64
	unauthorized    atomic.Int64

	mu       sync.Mutex
	requests map[string]int64
}

func (c *counters) request(path string) {
	c.mu.Lock()
	if c.requests == nil {
		c.requests = map[string]int64{}
	}
	c.requests[path]++
	c.mu.Unlock()
}

func (c *counters) snapshot() Counters {
	c.mu.Lock()
	req := maps.Clone(c.requests)
	c.mu.Unlock()
	if req == nil {
		req = map[string]int64{}
	}
	return Counters{
		FirmwareUploads: c.firmwareUploads.Load(),
		AppUploads:      c.appUploads.Load(),
		Reboots:         c.reboots.Load(),
		RTSPSessions:    c.rtspSessions.Load(),
		AudioBytes:      c.audioBytes.Load(),
		Unauthorized:    c.unauthorized.Load(),
		Requests:        req,
	}
}
