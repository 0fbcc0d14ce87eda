// Package modelcatalog is the relay's model catalog: per product, its family, warranty,
// end of sale and support, and recommended AXIS OS, which the inventory shows beside what
// the devices report. The relay loads a catalog file (relay serve --catalog); the one built
// in covers the models camsim simulates, with example dates.
package modelcatalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

//go:embed models.json
var builtin []byte

// Model is one product's entry.
type Model struct {
	Model         string `json:"model"` // ProdNbr, e.g. P3265-V
	ProductFamily string `json:"productFamily"`
	WarrantyYears int    `json:"warrantyYears"`
	EndOfSale     string `json:"endOfSale,omitempty"`    // YYYY-MM-DD
	EndOfSupport  string `json:"endOfSupport,omitempty"` // YYYY-MM-DD
	RecommendedOS string `json:"recommendedOS,omitempty"`
}

// Catalog finds models by product number.
type Catalog struct {
	byModel map[string]Model
}

// Builtin is the catalog compiled into the relay.
func Builtin() *Catalog {
	c, err := Parse(builtin)
	if err != nil {
		panic("catalog: built-in models.json: " + err.Error())
	}
	return c
}

// Load reads a catalog file; empty path gives the built-in one.
func Load(path string) (*Catalog, error) {
	if path == "" {
		return Builtin(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a catalog document: {"models": [Model, ...]}.
func Parse(b []byte) (*Catalog, error) {
	var doc struct {
		Models []Model `json:"models"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	c := &Catalog{byModel: map[string]Model{}}
	for i, m := range doc.Models {
		if m.Model == "" {
			return nil, fmt.Errorf("model %d has no name", i)
		}
		for _, d := range []string{m.EndOfSale, m.EndOfSupport} {
			if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
				return nil, fmt.Errorf("model %s: date %q: want YYYY-MM-DD", m.Model, d)
			}
		}
		if m.WarrantyYears < 0 || m.WarrantyYears > 20 {
			return nil, fmt.Errorf("model %s: warrantyYears %d", m.Model, m.WarrantyYears)
		}
		c.byModel[strings.ToUpper(m.Model)] = m
	}
	return c, nil
}

// Lookup finds a model by product number ("P3265-V" or "AXIS P3265-V").
func (c *Catalog) Lookup(model string) (Model, bool) {
	m, ok := c.byModel[strings.ToUpper(strings.TrimPrefix(model, "AXIS "))]
	return m, ok
}

// WarrantyEnd is when a device's warranty ends, counted from when the organization got it.
func (m Model) WarrantyEnd(since time.Time) time.Time {
	if m.WarrantyYears == 0 || since.IsZero() {
		return time.Time{}
	}
	return since.AddDate(m.WarrantyYears, 0, 0)
}
