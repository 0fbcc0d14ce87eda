package camsim_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// pinned is a client that trusts only the camera's own certificate.
func pinned(t *testing.T, c *camsim.Camera) *http.Client {
	t.Helper()
	der, err := c.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: cert.DNSNames[0]}}}
}

// get answers status, the WWW-Authenticate challenges and the body of a GET.
func get(t *testing.T, hc *http.Client, url, user, pass string) (int, []string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Values("WWW-Authenticate"), string(b)
}

// Each camera serves VAPIX over HTTPS with a self-signed certificate of its own, kept
// across reboots and restarts; over HTTPS an AXIS OS 12 camera offers and takes Basic
// (and not Digest), an older one Digest; over HTTP Basic is neither offered nor taken.
func TestHTTPSWithOwnCertificateAndBasic(t *testing.T) {
	state := t.TempDir()
	fleet := camsimtest.Start(t, 2, camsimtest.WithState(state))
	on12, on11 := fleet.Cameras()[0], fleet.Cameras()[1]
	realm := func(c *camsim.Camera) string { return "AXIS_" + c.Info().Serial }

	der12, _ := on12.Certificate()
	der11, _ := on11.Certificate()
	if bytes.Equal(der12, der11) {
		t.Fatal("two cameras share a certificate")
	}
	cert, _ := x509.ParseCertificate(der12)
	if host := "axis-" + strings.ToLower(on12.Info().Serial); cert.Subject.CommonName != host || cert.VerifyHostname(host+".local") != nil ||
		cert.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("certificate of %s names %v %v %v", on12.Info().Serial, cert.Subject, cert.DNSNames, cert.IPAddresses)
	}

	hc := pinned(t, on12)
	url := on12.Info().HTTPS + "/axis-cgi/usergroup.cgi"
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("https URL %q", url)
	}
	status, challenges, _ := get(t, hc, url, "", "")
	if status != http.StatusUnauthorized || len(challenges) != 1 || challenges[0] != `Basic realm="`+realm(on12)+`"` {
		t.Errorf("AXIS OS 12 over HTTPS without credentials: %d %q, want 401 with only Basic", status, challenges)
	}
	if status, _, body := get(t, hc, url, camsimtest.User, camsimtest.Password); status != http.StatusOK || !strings.HasPrefix(body, "root\n") {
		t.Errorf("Basic over HTTPS: %d %q", status, body)
	}
	if status, _, _ := get(t, hc, url, camsimtest.User, "wrong"); status != http.StatusUnauthorized {
		t.Errorf("Basic with a wrong password over HTTPS: %d", status)
	}
	if status, challenges, _ := get(t, http.DefaultClient, on12.Info().HTTP+"/axis-cgi/usergroup.cgi", camsimtest.User, camsimtest.Password); status != http.StatusUnauthorized ||
		len(challenges) != 1 || !strings.HasPrefix(challenges[0], "Digest ") {
		t.Errorf("Basic over HTTP: %d %q, want 401 with only Digest", status, challenges)
	}

	status, challenges, _ = get(t, pinned(t, on11), on11.Info().HTTPS+"/axis-cgi/usergroup.cgi", "", "")
	if status != http.StatusUnauthorized || len(challenges) != 1 || !strings.HasPrefix(challenges[0], `Digest realm="`+realm(on11)+`"`) {
		t.Errorf("AXIS OS 11 over HTTPS: %d %q, want Digest", status, challenges)
	}

	// Policy digest: Digest over HTTPS as well.
	res, err := digestClient(camsimtest.User, camsimtest.Password).Get(on12.Info().HTTP + "/axis-cgi/param.cgi?action=update&Network.HTTP.AuthenticationPolicy=digest")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if status, challenges, _ := get(t, hc, url, "", ""); status != http.StatusUnauthorized || len(challenges) != 1 || !strings.HasPrefix(challenges[0], "Digest ") {
		t.Errorf("policy digest over HTTPS: %d %q", status, challenges)
	}

	// The same certificate after a reboot and after camsim restarts on the same state.
	addr := on12.Info().HTTPS
	on12.PowerOff()
	if err := on12.PowerOn(); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, hc, url, "", ""); status != http.StatusUnauthorized || on12.Info().HTTPS != addr {
		t.Errorf("after a power cycle: %d at %s (was %s)", status, on12.Info().HTTPS, addr)
	}
	fleet.Close()
	again := camsimtest.Start(t, 1, camsimtest.WithState(state))
	if der, _ := again.Cameras()[0].Certificate(); !bytes.Equal(der, der12) {
		t.Error("a restarted camera has a new certificate")
	}
}
