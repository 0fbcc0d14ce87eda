package camsim

import (
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: Faults{}},
		{spec: "latency=50ms", want: Faults{Latency: 50 * time.Millisecond}},
		{spec: "errors=0.05, drop=1%", want: Faults{ErrorRate: 0.05, DropRate: 0.01}},
		{spec: "upgrade-fail=0.3,reboot=45s,oak-unavailable", want: Faults{UpgradeFailRate: 0.3, RebootDelay: 45 * time.Second, OAKUnavailable: true}},
		{spec: "errors=2", wantErr: "outside 0..1"},
		{spec: "latency", wantErr: "missing =value"},
		{spec: "latency=fast", wantErr: "latency=fast"},
		{spec: "meteor=1", wantErr: "unknown fault"},
		{spec: "errors=x,drop=-1", wantErr: "drop=-1"}, // every bad item is reported
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFaults(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFaults(%q) error = %v, want one mentioning %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseFaults(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
			again, err := ParseFaults(got.String())
			if err != nil || again != got {
				t.Fatalf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"", "latency=50ms", "errors=0.05,drop=1%", "upgrade-fail=0.3,reboot=45s,oak-unavailable", "errors=2", "=,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ft, err := ParseFaults(spec)
		if err != nil {
			return
		}
		if ft.ErrorRate < 0 || ft.ErrorRate > 1 || ft.DropRate < 0 || ft.DropRate > 1 || ft.UpgradeFailRate < 0 || ft.UpgradeFailRate > 1 {
			t.Fatalf("rate out of range accepted: %+v", ft)
		}
		again, err := ParseFaults(ft.String())
		if err != nil || again != ft {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", spec, ft, ft.String(), again, err)
		}
	})
}
