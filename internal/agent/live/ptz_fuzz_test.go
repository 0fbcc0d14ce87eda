package live

import (
	"encoding/json"
	"testing"
)

// FuzzPTZMessage: any bytes from a viewer are either refused or a message that is valid
// by the rules, whose command stays within VAPIX's ranges; nothing panics.
func FuzzPTZMessage(f *testing.F) {
	for _, s := range []string{
		`{"op":"move","pan":-1,"tilt":1,"zoom":0.5}`, `{"op":"stop"}`, `{"op":"preset","name":"Gate"}`,
		`{"op":"move"}`, `{"op":"move","pan":1.0000001}`, `{"op":"preset","name":""}`, `not json`, `[]`, `null`,
		`{"op":"stop"} {"op":"stop"}`, `{"op":"move","pan":1e400}`, `{"op":"preset","name":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePTZMessage(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without text")
			}
			return
		}
		if len(b) > MaxPTZMessage {
			t.Fatalf("a message of %d bytes taken", len(b))
		}
		switch m.Op {
		case PTZMove, PTZStop:
			c := m.command()
			if c.ContinuousPanTilt == nil || c.ContinuousZoom == nil {
				t.Fatalf("%s: command %+v lacks the continuous moves", m.Op, c)
			}
			for _, v := range []float64{c.ContinuousPanTilt[0], c.ContinuousPanTilt[1], *c.ContinuousZoom} {
				if !(v >= -100 && v <= 100) {
					t.Fatalf("%s: speed %v outside -100..100", b, v)
				}
			}
		case PTZPreset:
			if !validPresetName(m.Name) || m.command().GotoPresetName != m.Name {
				t.Fatalf("preset %q taken", m.Name)
			}
		default:
			t.Fatalf("op %q taken", m.Op)
		}
		// A valid message reads the same again once written back.
		again, _ := json.Marshal(m)
		if _, err := ParsePTZMessage(again); err != nil && len(again) <= MaxPTZMessage {
			t.Fatalf("%s taken, written back as %s refused: %v", b, again, err)
		}
	})
}
