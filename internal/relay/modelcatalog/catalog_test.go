package modelcatalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltinCoversSimulatedModels(t *testing.T) {
	c := Builtin()
	for _, model := range []string{"P3265-V", "Q6135-LE", "M3106-L Mk II", "P1455-LE", "AXIS M5075-G"} {
		m, ok := c.Lookup(model)
		if !ok || m.ProductFamily == "" || m.EndOfSupport == "" || m.RecommendedOS == "" {
			t.Errorf("%s: %+v, %v", model, m, ok)
		}
	}
	if _, ok := c.Lookup("X9999"); ok {
		t.Error("unknown model found")
	}
	m, _ := c.Lookup("P3265-V")
	if got := m.WarrantyEnd(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)); got.Year() != 2031 {
		t.Errorf("warranty end %v", got)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"json":  `{"models": [`,
		"name":  `{"models": [{"productFamily": "x"}]}`,
		"date":  `{"models": [{"model": "A", "endOfSupport": "31/12/2030"}]}`,
		"years": `{"models": [{"model": "A", "warrantyYears": -1}]}`,
	} {
		p := filepath.Join(dir, name+".json")
		_ = os.WriteFile(p, []byte(body), 0o600)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", name, err)
		}
	}
	p := filepath.Join(dir, "ok.json")
	_ = os.WriteFile(p, []byte(`{"models": [{"model": "Z1", "productFamily": "Z", "endOfSupport": "2030-01-01"}]}`), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := c.Lookup("Z1"); !ok || m.ProductFamily != "Z" {
		t.Fatalf("loaded %+v %v", m, ok)
	}
}
