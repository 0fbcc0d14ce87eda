package vapix

import (
	"context"
	"errors"
	"fmt"
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

// SystemReady is systemready.cgi's answer (vapix.md section 7).
type SystemReady struct {
	Ready     bool
	NeedSetup bool
	Uptime    time.Duration
	BootID    string
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
		SystemReady string `json:"systemready"`
		NeedSetup   string `json:"needsetup"`
		Uptime      string `json:"uptime"`
		BootID      string `json:"bootid"`
	}
	if err := c.jsonCall(ctx, c.anon, "systemready.cgi", "1.0", "systemready", params, &d); err != nil {
		return SystemReady{}, fmt.Errorf("vapix: systemready: %w", err)
	}
	var up int64
	fmt.Sscan(d.Uptime, &up)
	return SystemReady{Ready: d.SystemReady == "yes", NeedSetup: d.NeedSetup == "yes", Uptime: time.Duration(up) * time.Second, BootID: d.BootID}, nil
}

// WaitReady polls until the device reports ready and, when prevBootID is given, runs a
// new boot (so it waits out a reboot the caller started). It gives up with ctx.
func (c *Client) WaitReady(ctx context.Context, prevBootID string) (SystemReady, error) {
	const poll = 50 * time.Millisecond
	var last error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		sr, err := c.SystemReady(callCtx, 0)
		cancel()
		switch {
		case err == nil && sr.Ready && (prevBootID == "" || sr.BootID != prevBootID):
			return sr, nil
		case err != nil && !errors.Is(err, ErrUnavailable) && ctx.Err() == nil:
			last = err
		case err == nil:
			last = errors.New("not ready yet")
		default:
			last = err
		}
		t := time.NewTimer(poll)
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
