package role

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	for _, r := range All() {
		got, err := Parse(r.String())
		if err != nil || got != r {
			t.Errorf("Parse(%q) = %v, %v", r.String(), got, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Role
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Errorf("JSON round trip of %v: %v, %v", r, back, err)
		}
	}
	if _, err := Parse("root"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Parse(root) err = %v", err)
	}
	if _, err := json.Marshal(Unknown); err == nil {
		t.Error("marshalling Unknown should fail")
	}
}

func TestAtLeast(t *testing.T) {
	cases := []struct {
		r, min Role
		want   bool
	}{
		{Viewer, Viewer, true}, {Viewer, Operator, false}, {Operator, Viewer, true},
		{Admin, Admin, true}, {Operator, Admin, false}, {Unknown, Viewer, false},
		{Unknown, Unknown, false},
	}
	for _, c := range cases {
		if got := c.r.AtLeast(c.min); got != c.want {
			t.Errorf("%v.AtLeast(%v) = %v", c.r, c.min, got)
		}
	}
}
