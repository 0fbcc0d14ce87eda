package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultRelayURL is where a relay started with default flags answers.
const defaultRelayURL = "https://127.0.0.1:8443"

// savedLogin is what `relay login` keeps in the user's config directory, so later
// commands need no flags.
type savedLogin struct {
	Relay     string    `json:"relay"`
	CA        string    `json:"ca,omitempty"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// loginFile is $XDG_CONFIG_HOME/camcloud/relay-login.json (or the platform's equivalent).
func loginFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	return filepath.Join(dir, "camcloud", "relay-login.json"), nil
}

func loadLogin() (savedLogin, error) {
	var l savedLogin
	path, err := loginFile()
	if err != nil {
		return l, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func saveLogin(l savedLogin) (string, error) {
	path, err := loginFile()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return path, err
	}
	return path, os.Chmod(path, 0o600) // WriteFile keeps the mode of an existing file
}

// clientFlags are the flags of every command that talks to a running relay.
type clientFlags struct {
	relay, ca, token string
}

const clientHelp = `
Connection: --relay URL (default ` + defaultRelayURL + `), --ca FILE (the relay's ca.pem;
default: the system's roots), and a bearer token from --token or the environment variable
RELAY_TOKEN. Without them, the values saved by ` + "`relay login`" + ` are used.`

func (c *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.relay, "relay", "", "relay URL (default "+defaultRelayURL+" or the saved login's)")
	cmd.Flags().StringVar(&c.ca, "ca", "", "CA certificate file to trust (the relay's DIR/ca.pem)")
	cmd.Flags().StringVar(&c.token, "token", "", "bearer token (env RELAY_TOKEN; default: the saved login's)")
	cmd.Long += clientHelp
}

// apiClient calls a relay's API.
type apiClient struct {
	base  *url.URL
	http  *http.Client
	token string
}

// client resolves the flags, then the saved login, into an apiClient.
// orgClient is a logged-in client and the ID of the organization org names.
func (c *clientFlags) orgClient(cmd *cobra.Command, org string) (*apiClient, string, error) {
	cl, err := c.client(true)
	if err != nil {
		return nil, "", err
	}
	id, err := cl.resolveOrg(cmd, org)
	return cl, id, err
}

func (c *clientFlags) client(needToken bool) (*apiClient, error) {
	saved, loadErr := loadLogin()
	if errors.Is(loadErr, fs.ErrNotExist) {
		loadErr = nil // the normal case before `relay login`
	}
	relay := firstOf(c.relay, saved.Relay, defaultRelayURL)
	ca := c.ca
	token := c.token
	if c.relay == "" || c.relay == saved.Relay {
		ca = firstOf(ca, saved.CA)
		token = firstOf(token, saved.Token)
	}
	if needToken && token == "" {
		if loadErr != nil {
			return nil, fmt.Errorf("no token: the saved login cannot be read (%w); pass --token / set RELAY_TOKEN", loadErr)
		}
		return nil, errors.New("no token: run `relay login`, or pass --token / set RELAY_TOKEN")
	}
	return newAPIClient(relay, ca, token)
}

func newAPIClient(relay, caFile, token string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(relay, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--relay %q: want https://host:port", relay)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", caFile)
		}
		tlsConf.RootCAs = pool
	}
	return &apiClient{
		base:  u,
		token: token,
		http:  &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}},
	}, nil
}

// apiError is a problem+json (or OAuth error) answer, shown as its detail.
type apiError struct {
	Status      int    `json:"status"`
	Title       string `json:"title"`
	Detail      string `json:"detail"`
	RequestID   string `json:"requestId"`
	OAuthError  string `json:"error"`
	Description string `json:"error_description"`
	// RetryAfter is the Retry-After of a 429 (too many attempts): when to try again.
	RetryAfter time.Duration `json:"-"`
}

// newAPIError reads an error answer: a problem+json or OAuth body, and Retry-After.
func newAPIError(resp *http.Response, body []byte) *apiError {
	e := &apiError{}
	_ = json.Unmarshal(body, e)
	e.Status = resp.StatusCode
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// Error is the problem's title and detail; the command's name is put before it once,
// by cli.Main.
func (e *apiError) Error() string {
	switch {
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		return fmt.Sprintf("too many attempts; try again in %s (at %s)", e.RetryAfter, time.Now().Add(e.RetryAfter).Format(time.TimeOnly))
	case e.OAuthError != "" && e.Description != "":
		return fmt.Sprintf("%s: %s", e.OAuthError, e.Description)
	case e.OAuthError != "":
		return e.OAuthError
	case e.Status == http.StatusUnauthorized && e.Title != "":
		return fmt.Sprintf("%s: %s (relay login signs in again)", e.Title, e.Detail)
	case e.Title != "" && e.Detail != "":
		return fmt.Sprintf("%s: %s", e.Title, e.Detail)
	case e.Title != "":
		return e.Title
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// send sends a request; the caller closes the answer's body.
func (c *apiClient) send(cmd *cobra.Command, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	u := *c.base
	u.Path += path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u.Path, u.RawQuery = c.base.Path+path[:i], path[i+1:]
	}
	req, err := http.NewRequestWithContext(cmd.Context(), method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", c.base.Host, err)
	}
	return resp, nil
}

// stream opens a server-sent event stream; the caller closes it.
func (c *apiClient) stream(cmd *cobra.Command, path string) (io.ReadCloser, error) {
	resp, err := c.send(cmd, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, newAPIError(resp, raw)
	}
	return resp.Body, nil
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *apiClient) do(cmd *cobra.Command, method, path string, body io.Reader, contentType string, out any) error {
	resp, err := c.send(cmd, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("relay %s: %w", c.base.Host, err)
	}
	if resp.StatusCode >= 300 {
		return newAPIError(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("relay answer: %w", err)
	}
	return nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
