package vapix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
)

// Apps lists the installed ACAP applications (vapix.md 8.1).
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	b, _, err := c.do(ctx, c.http, http.MethodGet, "/axis-cgi/applications/list.cgi", nil, "", nil)
	if err != nil {
		return nil, fmt.Errorf("vapix: list apps: %w", err)
	}
	apps, err := ParseAppList(b)
	if err != nil {
		return nil, fmt.Errorf("vapix: list apps: %w", err)
	}
	return apps, nil
}

// InstallApp streams an .eap package to the device (upload.cgi, part "packfil");
// re-installing an application upgrades it. fileName is the package's file name.
func (c *Client) InstallApp(ctx context.Context, fileName string, pkg io.Reader) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		// Ends when the body is written or the request fails and closes pr.
		err := func() error {
			w, err := mw.CreateFormFile("packfil", fileName)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, pkg); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	b, err := c.upload(ctx, "/axis-cgi/applications/upload.cgi", mw.FormDataContentType(), pr)
	if err != nil {
		return fmt.Errorf("vapix: install app: %w", err)
	}
	if err := legacyError("upload.cgi", string(b)); err != nil {
		return fmt.Errorf("vapix: install app: %w", err)
	}
	return nil
}

// App control error codes (vapix.md 8.3).
const (
	AppErrNotFound       = 4
	AppErrAlreadyRunning = 6
	AppErrNotRunning     = 7
)

func (c *Client) appControl(ctx context.Context, action, name string) error {
	if _, err := c.cgi(ctx, "/axis-cgi/applications/control.cgi", url.Values{"action": {action}, "package": {name}}); err != nil {
		return fmt.Errorf("vapix: %s app %s: %w", action, name, err)
	}
	return nil
}

// StartApp starts an application. One already running is not an error: the device is
// where the caller wants it.
func (c *Client) StartApp(ctx context.Context, name string) error {
	return ignoreAppCode(c.appControl(ctx, "start", name), AppErrAlreadyRunning)
}

// StopApp stops an application; one already stopped is not an error.
func (c *Client) StopApp(ctx context.Context, name string) error {
	return ignoreAppCode(c.appControl(ctx, "stop", name), AppErrNotRunning)
}

// RestartApp restarts an application.
func (c *Client) RestartApp(ctx context.Context, name string) error {
	return c.appControl(ctx, "restart", name)
}

// RemoveApp uninstalls an application.
func (c *Client) RemoveApp(ctx context.Context, name string) error {
	return c.appControl(ctx, "remove", name)
}

func ignoreAppCode(err error, code int) error {
	var ve *Error
	if errors.As(err, &ve) && ve.Code == code {
		return nil
	}
	return err
}
