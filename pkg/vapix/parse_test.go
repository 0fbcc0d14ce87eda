package vapix

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Replies quoted from real devices in the VAPIX reference (AXIS OS 10.12 and 12.11).
const (
	recParams  = "Network.BootProto=dhcp\n# Error: Error -1 getting param in group 'Does.Not.Exist'\nHTTPS.Enabled=yes\n"
	recUsers   = "admin=\"root20,fakeroot,root\"\noperator=\"root20,fakeroot,acs,root\"\nviewer=\"root20,fakeroot,acs,root\"\nptz=\"root20,fakeroot,root\"\ndigusers=\"root,fakeroot,root20,acs\"\n"
	recUsers10 = "root=\"\"\r\naudio=\"root,sdk\"\r\nusers=\r\nanonymous=\"\"\r\n"
	recApps    = `<reply result="ok">
 <application Name="vmd" NiceName="AXIS Video Motion Detection" Vendor="Axis Communications" Version="4.4-5" ApplicationID="143440" License="None" Status="Running" ConfigurationPage="local/vmd/config.html" VendorHomePage="http://www.axis.com" LicenseName="Proprietary" Bundled="Yes" SignatureStatus="Signed"><Resources><Resource name="DeepLearningProcessor" used="No" /></Resources><CompatibleOsVersions><VersionRange><Min>12.10</Min><Max>99</Max></VersionRange></CompatibleOsVersions></application>
</reply>`
	recPTZ    = "pan=51.2891\ntilt=46.1914\nzoom=1\niris=6427\nfocus=8265\nbrightness=4999\nautofocus=off\nautoiris=on\n"
	recNotify = `{"apiVersion":"1.0","method":"events:notify","params":{"notification":{"topic":"tns1:Device/tnsaxis:IO/VirtualInput","timestamp":1722108150418,"message":{"source":{"port":"38"},"key":{},"data":{"active":"0"}}}}}`
	recFwErr  = `{"apiVersion": "1.10", "method": "bogus", "error": {"code": 405, "message": "Unknown method in request."}}`
	recFwStat = `{"activeFirmwareVersion": "12.11.77", "activeFirmwarePart": "7454651131", "resetSource": "crash"}`
)

func TestParseParams(t *testing.T) {
	params, missing, err := ParseParams(recParams)
	if err != nil {
		t.Fatal(err)
	}
	if len(params) != 2 || params[0] != (Param{"Network.BootProto", "dhcp"}) || params[1].Name != "HTTPS.Enabled" {
		t.Fatalf("params = %+v", params)
	}
	if len(missing) != 1 || missing[0].Group != "Does.Not.Exist" {
		t.Fatalf("missing = %+v", missing)
	}
	if p, _, err := ParseParams("root.Brand.ProdVariant=\r\nroot.X.Y=a=b\n"); err != nil || p[0].Value != "" || p[1].Value != "a=b" {
		t.Fatalf("empty value and '=' in a value: %+v, %v", p, err)
	}
	if _, _, err := ParseParams("no equals sign here\n"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed line: %v", err)
	}
}

// Values are printed raw: one holding newlines spans lines, which belong to it rather
// than spoiling the whole listing.
func TestParseParamsMultiLineValue(t *testing.T) {
	text := "Image.I0.Name=line one\nline two\n\nline four\nImage.I0.Enabled=yes\n\n" +
		"# Error: Error -1 getting param in group 'X.Y'\nHTTPS.Enabled=yes\r\nsecond line\r\n"
	params, missing, err := ParseParams(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Param{{"Image.I0.Name", "line one\nline two\n\nline four"}, {"Image.I0.Enabled", "yes"}, {"HTTPS.Enabled", "yes\nsecond line"}}
	if !slices.Equal(params, want) || len(missing) != 1 {
		t.Fatalf("params = %q, missing = %+v", params, missing)
	}
	// A line after an error line has no value to continue.
	if _, _, err := ParseParams("A.B=1\n# Error: Error -1 getting param in group 'X'\nstray\n"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("stray line after an error line: %v", err)
	}
}

func TestParseUsers(t *testing.T) {
	g, err := ParseUsers(recUsers)
	if err != nil || len(g) != 5 || len(g["operator"]) != 4 || g["digusers"][0] != "root" {
		t.Fatalf("12.11 form: %v, %v", g, err)
	}
	g, err = ParseUsers(recUsers10)
	if err != nil || len(g["root"]) != 0 || len(g["audio"]) != 2 {
		t.Fatalf("10.12 CRLF form: %v, %v", g, err)
	}
	g, err = ParseUsers("admin=root\nviewer=\n")
	if err != nil || len(g["admin"]) != 1 || g["admin"][0] != "root" || g["viewer"] == nil || len(g["viewer"]) != 0 {
		t.Fatalf("unquoted lists: %v, %v", g, err)
	}
	for _, bad := range []string{"admin=\"root\n", "admin=root\"\n", "admin=\"\n", "=\"root\"\n", "admin\n"} {
		if _, err := ParseUsers(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseAppList(t *testing.T) {
	apps, err := ParseAppList([]byte(recApps))
	if err != nil || len(apps) != 1 {
		t.Fatalf("%+v, %v", apps, err)
	}
	a := apps[0]
	if a.Name != "vmd" || a.Status != "Running" || a.SignatureStatus != "Signed" || len(a.Resources) != 1 || a.CompatibleOSVersions[0].Min != "12.10" || !a.IsBundled() {
		t.Fatalf("app %+v", a)
	}
	if apps, err := ParseAppList([]byte("<reply result=\"ok\">\n</reply>")); err != nil || len(apps) != 0 {
		t.Fatalf("empty list: %v, %v", apps, err)
	}
	if _, err := ParseAppList([]byte("<html>")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("not XML: %v", err)
	}
}

func TestParsePTZPosition(t *testing.T) {
	p, err := ParsePTZPosition(recPTZ)
	if err != nil || p.Pan != 51.2891 || p.Tilt != 46.1914 || p.Zoom != 1 || p.Focus != 8265 {
		t.Fatalf("%+v, %v", p, err)
	}
	if _, err := ParsePTZPosition(""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty reply (no PTZ): %v", err)
	}
	if _, err := ParsePTZPosition("pan=left\n"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("non-numeric pan: %v", err)
	}
}

func TestParseEventMessage(t *testing.T) {
	ev, ok, err := ParseEventMessage([]byte(recNotify))
	if err != nil || !ok || ev.Topic != "tns1:Device/tnsaxis:IO/VirtualInput" || ev.Timestamp != 1722108150418 || ev.Source["port"] != "38" || ev.Data["active"] != "0" {
		t.Fatalf("%+v %v %v", ev, ok, err)
	}
	if _, ok, err := ParseEventMessage([]byte(`{"apiVersion":"1.0","context":"c1","method":"events:configure","data":{}}`)); ok || err != nil {
		t.Fatalf("configure reply: ok=%v err=%v", ok, err)
	}
	var ve *Error
	if _, _, err := ParseEventMessage([]byte(`{"apiVersion":"1.0","method":"events:configure","error":{"code":1100,"message":"Internal Error"}}`)); !errors.As(err, &ve) || ve.Code != 1100 {
		t.Fatalf("error reply: %v", err)
	}
}

func TestDecodeJSONReply(t *testing.T) {
	var ve *Error
	if err := decodeJSONReply("firmwaremanagement.cgi", []byte(recFwErr), nil); !errors.As(err, &ve) || ve.Code != 405 {
		t.Fatalf("error object: %v", err)
	}
	s, err := parseFirmwareStatus([]byte(recFwStat))
	if err != nil || s.ActiveFirmwareVersion != "12.11.77" || !s.Committed {
		t.Fatalf("status %+v, %v", s, err)
	}
	for _, spelling := range []string{"isCommited", "isCommitted"} {
		s, err := parseFirmwareStatus([]byte(`{"activeFirmwareVersion":"12.11.77","inactiveFirmwareVersion":"11.11.1","` + spelling + `":false}`))
		if err != nil || s.Committed {
			t.Fatalf("%s=false read as committed: %+v, %v", spelling, s, err)
		}
	}
	if err := decodeJSONReply("x.cgi", []byte("<html>"), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("HTML reply: %v", err)
	}
}

func TestLegacyError(t *testing.T) {
	var ve *Error
	if err := legacyError("/axis-cgi/applications/control.cgi", "Error: 6\n"); !errors.As(err, &ve) || ve.Code != 6 || !strings.Contains(ve.Message, "running") {
		t.Fatalf("code form: %v", err)
	}
	if err := legacyError("/axis-cgi/param.cgi", "# Error: Error setting 'root.X.Y' to 'z'!\n"); !errors.As(err, &ve) || ve.API != "param.cgi" {
		t.Fatalf("param form: %v", err)
	}
	if err := legacyError("/axis-cgi/param.cgi", "OK\n"); err != nil {
		t.Fatalf("OK read as an error: %v", err)
	}
}
