package camsim

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The ACAP package (.eap, vapix.md 8.5): a gzip-compressed tar with manifest.json (or,
// for packages older than manifests, only package.conf) at its root.

// EAPManifest is the part of an ACAP manifest.json that camsim reads and BuildEAP writes.
type EAPManifest struct {
	AppName      string // setup.appName: the package name list.cgi shows as Name
	FriendlyName string
	Vendor       string
	Version      string // semver, e.g. 1.2.3
	AppID        string
	Architecture string // aarch64, armv7hf or all
	RunMode      string // never, once, respawn, respawnOnFailure
	VendorURL    string
	SettingsPage string
}

type manifestJSON struct {
	SchemaVersion   string `json:"schemaVersion"`
	AcapPackageConf struct {
		Setup struct {
			AppName      string `json:"appName"`
			FriendlyName string `json:"friendlyName,omitempty"`
			AppID        string `json:"appId,omitempty"`
			Vendor       string `json:"vendor"`
			VendorURL    string `json:"vendorUrl,omitempty"`
			Version      string `json:"version"`
			RunMode      string `json:"runMode"`
			Architecture string `json:"architecture,omitempty"`
		} `json:"setup"`
		Configuration *struct {
			SettingPage string `json:"settingPage,omitempty"`
		} `json:"configuration,omitempty"`
	} `json:"acapPackageConf"`
}

// maxManifest bounds the manifest or package.conf read from a package.
const maxManifest = 256 << 10

var errBadEAP = errors.New("not a valid ACAP package")

// ParseEAP reads a package from r and returns its manifest. It reads the whole archive
// (streaming) so a truncated upload is detected.
func ParseEAP(r io.Reader) (EAPManifest, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return EAPManifest{}, fmt.Errorf("%w: %v", errBadEAP, err)
	}
	tr := tar.NewReader(zr)
	var manifest, conf []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return EAPManifest{}, fmt.Errorf("%w: %v", errBadEAP, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch name {
		case "manifest.json", "package.conf":
			b, err := io.ReadAll(io.LimitReader(tr, maxManifest+1))
			if err != nil || len(b) > maxManifest {
				return EAPManifest{}, fmt.Errorf("%w: %s unreadable or too large", errBadEAP, name)
			}
			if name == "manifest.json" {
				manifest = b
			} else {
				conf = b
			}
		default:
			if _, err := io.Copy(io.Discard, tr); err != nil {
				return EAPManifest{}, fmt.Errorf("%w: %v", errBadEAP, err)
			}
		}
	}
	switch {
	case manifest != nil:
		return parseManifest(manifest)
	case conf != nil:
		return parsePackageConf(conf)
	}
	return EAPManifest{}, fmt.Errorf("%w: no manifest.json or package.conf", errBadEAP)
}

func parseManifest(b []byte) (EAPManifest, error) {
	var m manifestJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return EAPManifest{}, fmt.Errorf("%w: manifest.json: %v", errBadEAP, err)
	}
	s := m.AcapPackageConf.Setup
	out := EAPManifest{AppName: s.AppName, FriendlyName: s.FriendlyName, Vendor: s.Vendor, Version: s.Version,
		AppID: s.AppID, Architecture: s.Architecture, RunMode: s.RunMode, VendorURL: s.VendorURL}
	if c := m.AcapPackageConf.Configuration; c != nil {
		out.SettingsPage = c.SettingPage
	}
	if m.SchemaVersion == "" {
		return out, fmt.Errorf("%w: manifest.json lacks schemaVersion", errBadEAP)
	}
	return out, out.validate()
}

// parsePackageConf reads the shell-style KEY="value" lines of a pre-manifest package.
func parsePackageConf(b []byte) (EAPManifest, error) {
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		kv[k] = strings.Trim(v, `"`)
	}
	version := kv["APPMAJORVERSION"] + "." + kv["APPMINORVERSION"] + "." + kv["APPMICROVERSION"]
	runMode := "never"
	if kv["STARTMODE"] == "respawn" || kv["STARTMODE"] == "once" {
		runMode = kv["STARTMODE"]
	}
	out := EAPManifest{AppName: kv["APPNAME"], FriendlyName: kv["PACKAGENAME"], Vendor: kv["VENDOR"], Version: version,
		AppID: kv["APPID"], Architecture: kv["APPTYPE"], RunMode: runMode, VendorURL: kv["VENDORHOMEPAGELINK"],
		SettingsPage: kv["SETTINGSPAGEFILE"]}
	return out, out.validate()
}

func (m EAPManifest) validate() error {
	var errs []string
	if m.AppName == "" || len(m.AppName) > 26 || strings.ContainsAny(m.AppName, " /\\\"<>&") {
		errs = append(errs, fmt.Sprintf("appName %q", m.AppName))
	}
	if m.Vendor == "" {
		errs = append(errs, "vendor missing")
	}
	if parts := strings.Split(m.Version, "."); m.Version == "" || len(parts) > 4 || strings.Contains(m.Version, "..") {
		errs = append(errs, fmt.Sprintf("version %q", m.Version))
	}
	switch m.RunMode {
	case "never", "once", "respawn", "respawnOnFailure":
	default:
		errs = append(errs, fmt.Sprintf("runMode %q", m.RunMode))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", errBadEAP, strings.Join(errs, ", "))
	}
	return nil
}

// BuildEAP writes a real .eap package (tar.gz with manifest.json, package.conf and an
// executable) for tests and demos. payload pads the executable to weigh an upload.
func BuildEAP(w io.Writer, m EAPManifest, payload int64) error {
	if m.RunMode == "" {
		m.RunMode = "respawn"
	}
	if m.Architecture == "" {
		m.Architecture = "all"
	}
	if err := m.validate(); err != nil {
		return err
	}
	var mj manifestJSON
	mj.SchemaVersion = "1.7.0"
	s := &mj.AcapPackageConf.Setup
	s.AppName, s.FriendlyName, s.AppID, s.Vendor, s.VendorURL = m.AppName, m.FriendlyName, m.AppID, m.Vendor, m.VendorURL
	s.Version, s.RunMode, s.Architecture = m.Version, m.RunMode, m.Architecture
	manifest, err := json.MarshalIndent(mj, "", "  ")
	if err != nil {
		return err
	}
	major, rest, _ := strings.Cut(m.Version, ".")
	minor, micro, _ := strings.Cut(rest, ".")
	conf := fmt.Sprintf("PACKAGENAME=%q\nAPPTYPE=%q\nAPPNAME=%q\nAPPID=%q\nVENDOR=%q\nAPPMAJORVERSION=%q\nAPPMINORVERSION=%q\nAPPMICROVERSION=%q\nSTARTMODE=%q\n",
		m.FriendlyName, m.Architecture, m.AppName, m.AppID, m.Vendor, major, minor, micro, m.RunMode)

	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(name string, mode int64, size int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: size, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, body, size)
		return err
	}
	exe := "#!/bin/sh\nexec sleep infinity\n"
	if err := add(m.AppName, 0o755, int64(len(exe))+payload, io.MultiReader(strings.NewReader(exe), io.LimitReader(zeroReader{}, payload))); err != nil {
		return err
	}
	if err := add("manifest.json", 0o644, int64(len(manifest)), strings.NewReader(string(manifest))); err != nil {
		return err
	}
	if err := add("package.conf", 0o644, int64(len(conf)), strings.NewReader(conf)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
