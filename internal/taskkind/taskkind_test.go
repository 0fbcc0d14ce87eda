package taskkind

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	ok := map[string]string{
		Firmware:      `{"version":"11.11.124"}`,
		AppInstall:    `{"name":"AxisExampleApp","version":"1.2.0","start":true}`,
		AppStart:      `{"name":"AxisExampleApp"}`,
		Params:        `{"values":{"Image.I0.Appearance.Resolution":"1920x1080"}}`,
		Overlay:       `{"text":"Lobby %T"}`,
		Restart:       ``,
		RotateAccount: `{}`,
	}
	for kind, p := range ok {
		if err := Validate(kind, json.RawMessage(p)); err != nil {
			t.Errorf("%s %s: %v", kind, p, err)
		}
	}
	if err := Validate(Firmware, json.RawMessage(`{"version":"11.11.124","artifact":{"release":"rel_1","sha256":"`+sha+`","size":10,"signature":"AAAA"}}`)); err != nil {
		t.Errorf("firmware with artifact: %v", err)
	}
	bad := []struct{ kind, params, want string }{
		{"format-disk", `{}`, "unknown task kind"},
		{Firmware, `{"version":"latest"}`, "version"},
		{Firmware, `{"version":"11.11.1","extra":1}`, "unknown field"},
		{Firmware, `not json`, "parameters"},
		{Firmware, ``, "required"},
		{Firmware, `{"version":"11.11.1","artifact":{"sha256":"xyz","size":1,"signature":"AA=="}}`, "artifact"},
		{AppStop, `{"name":"a b"}`, "name"},
		{AppStop, `{"name":"ok","start":true}`, "takes only name"},
		{Params, `{"values":{}}`, "values"},
		{Params, `{"values":{"nodots":"1"}}`, "dotted"},
		{Overlay, `{"text":""}`, "text"},
		{Restart, `{"now":true}`, "no parameters"},
		{Firmware, `{"version":"11.11.1"} {}`, "more than one"},
	}
	for _, b := range bad {
		err := Validate(b.kind, json.RawMessage(b.params))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s %s: %v, want an error about %q", b.kind, b.params, err, b.want)
		}
	}
	if err := Validate("nope", nil); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(Firmware, `{"version":"11.11.124"}`)
	f.Add(Params, `{"values":{"Image.I0.Name":"x"}}`)
	f.Add(AppInstall, `{"name":"A","artifact":{"sha256":"00","size":-1}}`)
	f.Fuzz(func(t *testing.T, kind, params string) {
		if err := Validate(kind, json.RawMessage(params)); err == nil {
			// What validates must decode again into the kind's type.
			switch kind {
			case Firmware:
				var p FirmwareParams
				if json.Unmarshal([]byte(params), &p) != nil || p.Version == "" {
					t.Fatalf("accepted %s %q", kind, params)
				}
			}
		}
	})
}
