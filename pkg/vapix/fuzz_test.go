package vapix

import "testing"

// Every parser of device output is fuzzed: malformed input must give an error, never a
// panic. Seeds are the real replies of parse_test.go.

func FuzzParseParams(f *testing.F) {
	f.Add(recParams)
	f.Add("root.Brand.ProdVariant=\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		params, _, err := ParseParams(s)
		if err == nil {
			for _, p := range params {
				if p.Name == "" {
					t.Fatalf("accepted a parameter without a name from %q", s)
				}
			}
		}
	})
}

func FuzzParseUsers(f *testing.F) {
	f.Add(recUsers)
	f.Add(recUsers10)
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseUsers(s) })
}

func FuzzParseAppList(f *testing.F) {
	f.Add([]byte(recApps))
	f.Add([]byte("<reply result=\"ok\">\n</reply>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		apps, err := ParseAppList(b)
		if err == nil {
			for _, a := range apps {
				if a.Name == "" {
					t.Fatal("accepted an application without a name")
				}
			}
		}
	})
}

func FuzzParsePTZPosition(f *testing.F) {
	f.Add(recPTZ)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParsePTZPosition(s) })
}

func FuzzParseEventMessage(f *testing.F) {
	f.Add([]byte(recNotify))
	f.Add([]byte(`{"method":"events:notify","params":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok, err := ParseEventMessage(b)
		if ok && (err != nil || ev.Topic == "") {
			t.Fatalf("event without topic accepted: %+v %v", ev, err)
		}
	})
}

func FuzzDecodeJSONReply(f *testing.F) {
	f.Add([]byte(recFwErr))
	f.Add([]byte(`{"apiVersion":"1.3","data":{"propertyList":{"Brand":"AXIS"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out struct {
			PropertyList map[string]string `json:"propertyList"`
		}
		_ = decodeJSONReply("basicdeviceinfo.cgi", b, &out)
		_, _ = parseFirmwareStatus(b)
	})
}

func FuzzLegacyError(f *testing.F) {
	f.Add("Error: 6\n")
	f.Add("# Error: Error setting 'root.X.Y' to 'z'!\n")
	f.Fuzz(func(t *testing.T, s string) { _ = legacyError("/axis-cgi/x.cgi", s) })
}

func FuzzParseSystemLog(f *testing.F) {
	f.Add("2026-11-26T10:11:12.123+00:00 axis-accc8e000001 [ INFO ] httpd[312]: session opened for user root (admin) from 127.0.0.1\n")
	f.Add("garbage line\n2026-11-26T10:11:12Z h [ ERR ] x: y\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ParseSystemLog(s) {
			if e.Raw == "" {
				t.Fatalf("entry without its line from %q", s)
			}
			if l, ok := e.Login(); ok && l.User == "" {
				t.Fatalf("login without a user from %q", s)
			}
		}
	})
}
