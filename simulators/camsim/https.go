package camsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// HTTPS (vapix.md 1.2): every camera also serves VAPIX over TLS with a self-signed
// certificate of its own, as an Axis device does out of the box. The certificate is made
// when first needed and kept (in the state directory, when there is one), so a
// client that pinned it finds the same one after a reboot or a restart of camsim.

// httpsSide is the camera's TLS listener and certificate.
type httpsSide struct {
	mu   sync.Mutex
	cert *tls.Certificate
	addr string // resolved address, kept across reboots
	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
}

// certificate returns the camera's certificate, loading or making it on first use.
func (c *Camera) certificate() (*tls.Certificate, error) {
	h := &c.https
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cert != nil {
		return h.cert, nil
	}
	var file string
	if c.cfg.stateDir != "" {
		file = filepath.Join(c.cfg.stateDir, c.id.Serial+".https.pem")
		if b, err := os.ReadFile(file); err == nil {
			if cert, err := tls.X509KeyPair(b, b); err == nil {
				h.cert = &cert
				return h.cert, nil
			}
			c.log.Warn("unreadable HTTPS certificate; making a new one", "file", file)
		}
	}
	pemBytes, err := c.selfSigned()
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		return nil, fmt.Errorf("https certificate: %w", err)
	}
	if file != "" {
		if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
			return nil, fmt.Errorf("https certificate: %w", err)
		}
	}
	h.cert = &cert
	return h.cert, nil
}

// selfSigned makes the camera's certificate and key, PEM-encoded. An Axis device's
// factory certificate names the device; the exact subject and key type are not known
// (recorded as unverified in docs/camsim.md): camsim uses ECDSA P-256, CN = the host
// name, and SANs for the host name, its .local name and the listening address.
func (c *Camera) selfSigned() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("https key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("https certificate serial: %w", err)
	}
	host := c.id.HostName()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"Axis Communications AB"}, SerialNumber: c.id.Serial},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{host, host + ".local"},
	}
	if ip := net.ParseIP(hostOf(c.cfg.listen)); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("https certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("https key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...), nil
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return host
}

// Certificate is the camera's HTTPS certificate (DER), for clients that pin it.
func (c *Camera) Certificate() ([]byte, error) {
	cert, err := c.certificate()
	if err != nil {
		return nil, err
	}
	return cert.Certificate[0], nil
}

// startHTTPS listens for HTTPS on the camera's address (the same port across reboots).
func (c *Camera) startHTTPS() error {
	h := &c.https
	h.mu.Lock()
	defer h.mu.Unlock()
	addr := h.addr
	if addr == "" {
		addr = c.cfg.httpsListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HTTPS %s: %w", portTaken(addr, err), err)
	}
	h.addr = ln.Addr().String()
	srv := &http.Server{
		Handler: c,
		// The certificate is made on the first handshake, not at boot: a thousand
		// cameras start as fast as without HTTPS.
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.certificate() }},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelDebug),
	}
	h.srv, h.ln = srv, ln
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			c.log.Error("serve VAPIX over HTTPS", "err", err)
		}
	}()
	return nil
}

// stopHTTPS closes the listener as halt does the HTTP one.
func (c *Camera) stopHTTPS() {
	h := &c.https
	h.mu.Lock()
	srv, ln := h.srv, h.ln
	h.srv, h.ln = nil, nil
	h.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
	}
	h.wg.Wait()
}

// httpsURL is the camera's HTTPS base URL ("" before the first boot).
func (c *Camera) httpsURL() string {
	h := &c.https
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.addr == "" {
		return ""
	}
	return "https://" + h.addr
}

// authSchemes are the schemes the camera offers and accepts on this request
// (vapix.md 1.2): with Network.HTTP.AuthenticationPolicy=recommended, Digest over HTTP
// and, on AXIS OS 12, Basic over HTTPS (AXIS OS 10.12 still offered Digest there; 11 is
// taken to behave like 10, unverified); policy digest means Digest everywhere, basic
// Basic everywhere (unverified). --basic adds Basic over HTTP as before.
func (c *Camera) authSchemes(r *http.Request) (basic, digest bool) {
	var policy, firmware string
	c.view(func(st *State) {
		policy = setting(st, "Network.HTTP.AuthenticationPolicy", "recommended")
		firmware = st.Firmware.Version
	})
	switch {
	case policy == "digest":
		basic, digest = false, true
	case policy == "basic":
		basic, digest = true, false
	case r.TLS != nil && firmwareMajor(firmware) >= 12:
		basic, digest = true, false
	default:
		basic, digest = false, true
	}
	if c.cfg.allowBasic && r.TLS == nil {
		basic = true
	}
	return basic, digest
}
