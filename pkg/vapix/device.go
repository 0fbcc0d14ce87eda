package vapix

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DeviceInfo is what basicdeviceinfo.cgi reports (vapix.md section 3).
type DeviceInfo struct {
	Architecture    string
	Brand           string
	BuildDate       string
	HardwareID      string
	ProdFullName    string
	ProdNbr         string
	ProdShortName   string
	ProdType        string
	ProdVariant     string
	SerialNumber    string
	Soc             string
	SocSerialNumber string
	Version         string // AXIS OS version
	WebURL          string
}

func deviceInfoFrom(m map[string]string) DeviceInfo {
	return DeviceInfo{
		Architecture: m["Architecture"], Brand: m["Brand"], BuildDate: m["BuildDate"], HardwareID: m["HardwareID"],
		ProdFullName: m["ProdFullName"], ProdNbr: m["ProdNbr"], ProdShortName: m["ProdShortName"], ProdType: m["ProdType"],
		ProdVariant: m["ProdVariant"], SerialNumber: m["SerialNumber"], Soc: m["Soc"], SocSerialNumber: m["SocSerialNumber"],
		Version: m["Version"], WebURL: m["WebURL"],
	}
}

type propertyList struct {
	PropertyList map[string]string `json:"propertyList"`
}

// DeviceInfo returns every property (viewer account or better).
func (c *Client) DeviceInfo(ctx context.Context) (DeviceInfo, error) {
	var d propertyList
	if err := c.jsonCall(ctx, c.http, "basicdeviceinfo.cgi", "1.0", "getAllProperties", nil, &d); err != nil {
		return DeviceInfo{}, fmt.Errorf("vapix: device info: %w", err)
	}
	return deviceInfoFrom(d.PropertyList), nil
}

// UnrestrictedDeviceInfo returns the properties a device tells anyone, without
// credentials: enough to identify a camera found on the network.
func (c *Client) UnrestrictedDeviceInfo(ctx context.Context) (DeviceInfo, error) {
	var d propertyList
	if err := c.jsonCall(ctx, c.anon, "basicdeviceinfo.cgi", "1.0", "getAllUnrestrictedProperties", nil, &d); err != nil {
		return DeviceInfo{}, fmt.Errorf("vapix: unrestricted device info: %w", err)
	}
	return deviceInfoFrom(d.PropertyList), nil
}

// DeviceProperties returns the named properties.
func (c *Client) DeviceProperties(ctx context.Context, keys ...string) (map[string]string, error) {
	var d propertyList
	if err := c.jsonCall(ctx, c.http, "basicdeviceinfo.cgi", "1.0", "getProperties", map[string]any{"propertyList": keys}, &d); err != nil {
		return nil, fmt.Errorf("vapix: device properties: %w", err)
	}
	return d.PropertyList, nil
}

// API is one entry of apidiscovery.cgi's list.
type API struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
	DocLink string `json:"docLink"`
	Status  string `json:"status"` // may be empty
}

// APIs lists the APIs the device implements (vapix.md section 4).
func (c *Client) APIs(ctx context.Context) ([]API, error) {
	var d struct {
		APIList []API `json:"apiList"`
	}
	if err := c.jsonCall(ctx, c.http, "apidiscovery.cgi", "1.0", "getApiList", nil, &d); err != nil {
		return nil, fmt.Errorf("vapix: api list: %w", err)
	}
	return d.APIList, nil
}

// SystemReady is systemready.cgi's answer (vapix.md section 7). Older firmware (API 1.2)
// reports neither uptime nor boot ID.
type SystemReady struct {
	Ready     bool
	NeedSetup bool
	Uptime    time.Duration // 0 when not reported
	BootID    string        // "" when not reported

	hasUptime bool      // the device reported Uptime
	at        time.Time // when the answer arrived, which ages Uptime
}

// SystemReady asks whether the device finished starting; no credentials are needed.
// timeout (whole seconds, 0 for none) lets the device wait before answering.
func (c *Client) SystemReady(ctx context.Context, timeout time.Duration) (SystemReady, error) {
	var params any
	if timeout > 0 {
		params = map[string]int{"timeout": int(timeout.Seconds())}
		ctx = withWait(ctx, timeout)
	}
	var d struct {
		SystemReady string  `json:"systemready"`
		NeedSetup   string  `json:"needsetup"`
		Uptime      *string `json:"uptime"`
		BootID      string  `json:"bootid"`
	}
	if err := c.jsonCall(ctx, c.anon, "systemready.cgi", "1.0", "systemready", params, &d); err != nil {
		return SystemReady{}, fmt.Errorf("vapix: systemready: %w", err)
	}
	sr := SystemReady{Ready: d.SystemReady == "yes", NeedSetup: d.NeedSetup == "yes", BootID: d.BootID, at: time.Now()}
	// An uptime that is not a number is taken as not reported: it is not worth failing
	// the readiness check for.
	if d.Uptime != nil {
		if up, err := strconv.ParseFloat(*d.Uptime, 64); err == nil && up >= 0 && up < 1<<32 {
			sr.Uptime, sr.hasUptime = time.Duration(up*float64(time.Second)), true
		}
	}
	return sr, nil
}

// readyPoll is how often WaitReady and WaitRebooted ask.
const readyPoll = 50 * time.Millisecond

// WaitReady polls until the device reports ready and, when prevBootID is given, runs a
// new boot. It gives up with ctx. To wait out a reboot the caller started, use
// WaitRebooted, which also works with firmware that reports no boot ID.
func (c *Client) WaitReady(ctx context.Context, prevBootID string) (SystemReady, error) {
	return c.waitReady(ctx, func(sr SystemReady, _ time.Time) bool { return prevBootID == "" || sr.BootID != prevBootID })
}

// WaitRebooted waits until the device is ready in a boot after the one before describes:
// the answer of SystemReady taken before the call that reboots it. A device goes on
// answering for a moment after it agreed to reboot, so "ready" alone may still be the old
// boot. What shows a new one is, in order:
//   - the boot ID, when either answer has one (firmware that reports none, upgraded to
//     one that does, runs a new boot);
//   - else the uptime, when both answers report it: a new boot's is shorter than the old
//     boot's would be by now;
//   - else (older firmware reports neither, vapix.md 7) nothing the device says, so it
//     must be seen unavailable or not ready before it counts as ready again.
//
// A before made by the caller rather than by SystemReady can only give a boot ID. It
// gives up with ctx.
func (c *Client) WaitRebooted(ctx context.Context, before SystemReady) (SystemReady, error) {
	answered := !before.at.IsZero() // before is the device's answer, not a literal
	wentDown := false
	return c.waitReady(ctx, func(sr SystemReady, asked time.Time) bool {
		switch {
		case before.BootID != "" || answered && sr.BootID != "":
			return sr.BootID != before.BootID
		case before.hasUptime && sr.hasUptime:
			// The old boot's clock ran at least from before's answer to this question,
			// and each uptime may be cut down by up to a second: the old boot would now
			// report more than oldBoot, a new one (begun after going down) less.
			oldBoot := before.Uptime + asked.Sub(before.at) - 2*time.Second
			return sr.Uptime < oldBoot
		}
		return wentDown
	}, func() { wentDown = true })
}

// waitReady polls systemready until the device is ready and newBoot accepts the answer
// (asked is when the question went out). down, when given, is told of every answer that
// shows the device unavailable or not ready.
func (c *Client) waitReady(ctx context.Context, newBoot func(sr SystemReady, asked time.Time) bool, down ...func()) (SystemReady, error) {
	var last error
	for {
		asked := time.Now()
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		sr, err := c.SystemReady(callCtx, 0)
		cancel()
		switch {
		case err == nil && sr.Ready && newBoot(sr, asked):
			return sr, nil
		case err == nil && sr.Ready:
			last = errors.New("ready, still in the boot before the reboot")
		case err == nil:
			last = errors.New("not ready yet")
		default:
			last = err
		}
		if ctx.Err() == nil && (err == nil && !sr.Ready || errors.Is(err, ErrUnavailable)) {
			for _, f := range down {
				f()
			}
		}
		t := time.NewTimer(readyPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return SystemReady{}, fmt.Errorf("vapix: wait until ready: %w (last: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

// OAK returns the device's owner authentication key (admin; vapix.md section 17).
func (c *Client) OAK(ctx context.Context) (string, error) {
	var d struct {
		OAK string `json:"oak"`
	}
	if err := c.jsonCall(ctx, c.http, "oak.cgi", "1.0", "getOAK", nil, &d); err != nil {
		return "", fmt.Errorf("vapix: owner authentication key: %w", err)
	}
	if d.OAK == "" {
		return "", fmt.Errorf("vapix: owner authentication key: %w: empty", ErrMalformed)
	}
	return d.OAK, nil
}
