package vapix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sync/atomic"
)

// FirmwareStatus is firmwaremanagement.cgi's status (vapix.md section 6); fields the
// device leaves out stay zero.
type FirmwareStatus struct {
	ActiveFirmwareVersion   string `json:"activeFirmwareVersion"`
	ActiveFirmwarePart      string `json:"activeFirmwarePart"`
	InactiveFirmwareVersion string `json:"inactiveFirmwareVersion"`
	// Committed is false only while an upgrade waits for commit or rollback.
	Committed      bool   `json:"-"`
	PendingCommit  string `json:"pendingCommit"`
	TimeToRollback int    `json:"timeToRollback"`
	LastUpgradeAt  string `json:"lastUpgradeAt"`
	ResetSource    string `json:"resetSource"`
}

// FirmwareStatus reads the firmware state. Devices spell the commit flag "isCommited";
// both spellings are accepted.
func (c *Client) FirmwareStatus(ctx context.Context) (FirmwareStatus, error) {
	var raw json.RawMessage
	if err := c.jsonCall(ctx, c.http, "firmwaremanagement.cgi", "1.0", "status", nil, &raw); err != nil {
		return FirmwareStatus{}, fmt.Errorf("vapix: firmware status: %w", err)
	}
	return parseFirmwareStatus(raw)
}

func parseFirmwareStatus(raw []byte) (FirmwareStatus, error) {
	var s FirmwareStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("vapix: firmware status: %w: %v", ErrMalformed, err)
	}
	var flags struct {
		IsCommited  *bool `json:"isCommited"`
		IsCommitted *bool `json:"isCommitted"`
	}
	_ = json.Unmarshal(raw, &flags)
	s.Committed = true
	if flags.IsCommited != nil {
		s.Committed = *flags.IsCommited
	} else if flags.IsCommitted != nil {
		s.Committed = *flags.IsCommitted
	}
	if s.ActiveFirmwareVersion == "" {
		return s, fmt.Errorf("vapix: firmware status: %w: no activeFirmwareVersion", ErrMalformed)
	}
	return s, nil
}

// UpgradeOptions are fwmgr's upgrade parameters; empty fields take the device default.
type UpgradeOptions struct {
	FactoryDefaultMode string // none, soft, hard
	AutoCommit         string // never, boot, started, default
	AutoRollback       string // never, default, or minutes
}

// UpgradeFirmware streams an image to the device and returns the version it will boot
// into. The image is sent as it is read, never held in memory; progress (when not nil)
// is called as bytes go out. The device then reboots: use WaitRebooted with the
// SystemReady answer taken before, and FirmwareStatus to see the new version.
func (c *Client) UpgradeFirmware(ctx context.Context, image io.Reader, size int64, opts UpgradeOptions, progress func(sent, total int64)) (string, error) {
	params := map[string]string{}
	if opts.FactoryDefaultMode != "" {
		params["factoryDefaultMode"] = opts.FactoryDefaultMode
	}
	if opts.AutoCommit != "" {
		params["autoCommit"] = opts.AutoCommit
	}
	if opts.AutoRollback != "" {
		params["autoRollback"] = opts.AutoRollback
	}
	reqJSON, _ := json.Marshal(map[string]any{"apiVersion": "1.0", "context": "camcloud", "method": "upgrade", "params": params})

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		// This goroutine ends when the whole body is written or the request fails
		// (the transport closes pr, making every write fail).
		err := func() error {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="data"`)
			h.Set("Content-Type", "application/json")
			w, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(reqJSON); err != nil {
				return err
			}
			h = textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="fileData"; filename="firmware.bin"`)
			h.Set("Content-Type", "application/octet-stream")
			w, err = mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, &progressReader{r: image, total: size, fn: progress}); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	b, err := c.upload(ctx, "/axis-cgi/firmwaremanagement.cgi", mw.FormDataContentType(), pr)
	if err != nil {
		return "", fmt.Errorf("vapix: upgrade firmware: %w", err)
	}
	var d struct {
		FirmwareVersion string `json:"firmwareVersion"`
	}
	if err := decodeJSONReply("firmwaremanagement.cgi", b, &d); err != nil {
		return "", fmt.Errorf("vapix: upgrade firmware: %w", err)
	}
	return d.FirmwareVersion, nil
}

// upload posts a streamed body, which is sent once: it is read as it goes out, so it
// cannot be sent again after a 401 once any of it left.
//
// The client's DigestTransport takes care of that: before a streamed body it makes sure
// its challenge is fresh (a body-less probe if not), and it asks the device for
// 100-continue, so that a device refusing the nonce answers before the body leaves (to a
// device that asked for Basic over HTTPS, the body goes with Basic at once). A client
// without credentials has nothing to authenticate and sends the body straight away
// (through a proxy that authenticates for it, a probe would reach the device as an empty
// request).
func (c *Client) upload(ctx context.Context, path, contentType string, body io.ReadCloser) ([]byte, error) {
	// The body is closed here, whatever the transport did with it: the writer feeding it
	// ends then, even when the device answered before taking it all.
	defer body.Close()
	ub := &unreadBody{r: body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(path, nil), ub)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	// A resend (Basic after a Digest 401 over HTTPS) takes the body from GetBody: it may
	// have it until any of it was read.
	req.GetBody = func() (io.ReadCloser, error) {
		if ub.read.Load() {
			return nil, errors.New("upload cannot be resent (the device asked to authenticate again)")
		}
		return ub, nil
	}
	hc := c.anon
	if c.user != "" {
		hc = c.http
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, transportError(err)
	}
	if err := statusError(resp.StatusCode, b); err != nil {
		return nil, err
	}
	return b, nil
}

// unreadBody is a streamed request body that knows whether reading it began (a read
// that blocks counts: the body is taken).
type unreadBody struct {
	r    io.ReadCloser
	read atomic.Bool
}

func (u *unreadBody) Read(p []byte) (int, error) {
	u.read.Store(true)
	return u.r.Read(p)
}

func (u *unreadBody) Close() error { return u.r.Close() }

type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.sent, p.total)
	}
	return n, err
}

func (c *Client) fwmgr(ctx context.Context, method string, params any) error {
	if err := c.jsonCall(ctx, c.http, "firmwaremanagement.cgi", "1.0", method, params, nil); err != nil {
		return fmt.Errorf("vapix: firmware %s: %w", method, err)
	}
	return nil
}

// CommitFirmware keeps the firmware an upgrade installed (stops the rollback timer).
func (c *Client) CommitFirmware(ctx context.Context) error { return c.fwmgr(ctx, "commit", nil) }

// RollbackFirmware returns to the previous image; the device reboots.
func (c *Client) RollbackFirmware(ctx context.Context) error { return c.fwmgr(ctx, "rollback", nil) }

// PurgeFirmware deletes the inactive image.
func (c *Client) PurgeFirmware(ctx context.Context) error { return c.fwmgr(ctx, "purge", nil) }

// FactoryDefault resets the device ("soft" keeps network settings, "hard" does not); it
// reboots.
func (c *Client) FactoryDefault(ctx context.Context, mode string) error {
	return c.fwmgr(ctx, "factoryDefault", map[string]string{"factoryDefaultMode": mode})
}

// Reboot restarts the device into its active image.
func (c *Client) Reboot(ctx context.Context) error { return c.fwmgr(ctx, "reboot", nil) }
