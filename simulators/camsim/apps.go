package camsim

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// applications/list.cgi, upload.cgi and control.cgi (vapix.md 8.1-8.3). Replies are
// text: "OK" or "Error: <n>" with HTTP 200.

// maxAppPackage bounds an uploaded package (Error: 3 beyond it).
const maxAppPackage = 256 << 20

func (c *Camera) handleAppList(q *request) {
	var apps []App
	c.view(func(st *State) { apps = slices.Clone(st.Apps) })
	var b strings.Builder
	b.WriteString("<reply result=\"ok\">\n")
	for _, a := range apps {
		b.WriteString(" <application")
		attr := func(k, v string) {
			b.WriteString(" " + k + "=\"")
			_ = xml.EscapeText(&b, []byte(v))
			b.WriteString("\"")
		}
		attr("Name", a.Name)
		attr("NiceName", a.NiceName)
		attr("Vendor", a.Vendor)
		attr("Version", a.Version)
		if a.ApplicationID != "" {
			attr("ApplicationID", a.ApplicationID)
		}
		attr("License", a.License)
		attr("Status", a.Status)
		if a.SettingsPage != "" {
			attr("ConfigurationPage", "local/"+a.Name+"/"+a.SettingsPage)
		}
		if a.VendorURL != "" {
			attr("VendorHomePage", a.VendorURL)
		}
		attr("LicenseName", "Proprietary")
		attr("Bundled", "No")
		attr("SignatureStatus", "Unknown")
		b.WriteString(" />\n")
	}
	b.WriteString("</reply>\n")
	q.w.Header().Set("Content-Type", "text/xml")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write([]byte(b.String()))
}

// handleAppUpload installs a package streamed in the multipart part "packfil". A package
// whose runMode is respawn or once starts after installation; never stays stopped (a
// simulator choice: real devices behave this way for packages with a start mode).
func (c *Camera) handleAppUpload(q *request) {
	mr, err := q.r.MultipartReader()
	if err != nil {
		q.text(http.StatusOK, "Error: 1\n")
		return
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			q.text(http.StatusOK, "Error: 1\n")
			return
		}
		if part.FormName() != "packfil" {
			continue
		}
		if part.FileName() == "" {
			q.text(http.StatusOK, "Error: 3\n")
			return
		}
		c.counters.appUploads.Add(1)
		lr := &limitedReader{r: part, n: maxAppPackage}
		m, err := ParseEAP(lr)
		if lr.exceeded {
			q.text(http.StatusOK, "Error: 3\n")
			return
		}
		if err != nil {
			q.text(http.StatusOK, "Error: 1\n")
			return
		}
		if m.Architecture != "" && m.Architecture != "all" && m.Architecture != c.id.Model.Architecture {
			q.text(http.StatusOK, "Error: 5\n")
			return
		}
		c.installApp(m)
		c.logf("INFO", "acapmgr[498]", "installed application %s %s by %s", m.AppName, m.Version, q.user.Name)
		q.text(http.StatusOK, "OK\n")
		return
	}
}

func (c *Camera) installApp(m EAPManifest) {
	status := "Stopped"
	if m.RunMode == "respawn" || m.RunMode == "once" || m.RunMode == "respawnOnFailure" {
		status = "Running"
	}
	nice := m.FriendlyName
	if nice == "" {
		nice = m.AppName
	}
	app := App{Name: m.AppName, NiceName: nice, Vendor: m.Vendor, Version: m.Version, ApplicationID: m.AppID,
		Architecture: m.Architecture, RunMode: m.RunMode, Status: status, License: "None",
		VendorURL: m.VendorURL, SettingsPage: m.SettingsPage}
	_ = c.update(func(st *State) error {
		if i := slices.IndexFunc(st.Apps, func(a App) bool { return a.Name == m.AppName }); i >= 0 {
			st.Apps[i] = app
		} else {
			st.Apps = append(st.Apps, app)
		}
		return nil
	})
}

var errAppCode = errors.New("app control")

func (c *Camera) handleAppControl(q *request) {
	args := q.args()
	name, action := args.Get("package"), args.Get("action")
	if name == "" {
		q.text(http.StatusOK, "Error: 1\n")
		return
	}
	code := 0
	_ = c.update(func(st *State) error {
		i := slices.IndexFunc(st.Apps, func(a App) bool { return a.Name == name })
		if i < 0 {
			code = 4
			return errAppCode
		}
		a := &st.Apps[i]
		switch action {
		case "start":
			if a.Status == "Running" {
				code = 6
				return errAppCode
			}
			a.Status = "Running"
		case "stop":
			if a.Status != "Running" {
				code = 7
				return errAppCode
			}
			a.Status = "Stopped"
		case "restart":
			a.Status = "Running"
		case "remove":
			st.Apps = slices.Delete(st.Apps, i, i+1)
		default:
			code = 10
			return errAppCode
		}
		return nil
	})
	if code != 0 {
		q.text(http.StatusOK, fmt.Sprintf("Error: %d\n", code))
		return
	}
	q.text(http.StatusOK, "OK\n")
}

// limitedReader reads at most n bytes and remembers whether the source had more.
type limitedReader struct {
	r        interface{ Read([]byte) (int, error) }
	n        int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.exceeded = true
		}
		return 0, fmt.Errorf("package larger than %d bytes", maxAppPackage)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
