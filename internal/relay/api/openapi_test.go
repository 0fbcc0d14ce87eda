package api_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/api"
)

var specPath = filepath.Join("..", "..", "..", "api", "openapi.yaml")

type specOp struct {
	Access  string `yaml:"x-camcloud-access"`
	MinRole string `yaml:"x-camcloud-min-role"`
}

func loadSpec(t *testing.T) (map[string]specOp, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string                          `yaml:"openapi"`
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components map[string]map[string]any       `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", specPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version %q, want 3.1.x", doc.OpenAPI)
	}
	ops := map[string]specOp{}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	for path, item := range doc.Paths {
		for key, node := range item {
			if !slices.Contains(methods, key) {
				continue // parameters, summary, ...
			}
			var op specOp
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops, doc.Components["schemas"]
}

// TestOpenAPIMatchesRouter checks that api/openapi.yaml describes exactly the routes the
// router serves, with the same access level and minimum role.
func TestOpenAPIMatchesRouter(t *testing.T) {
	ops, _ := loadSpec(t)
	routes := map[string]api.Route{}
	for _, rt := range api.Routes() {
		// A trailing wildcard {path...} is the path parameter {path} in OpenAPI.
		key := rt.Method + " " + strings.ReplaceAll(rt.Pattern, "...}", "}")
		routes[key] = rt
		op, ok := ops[key]
		if !ok {
			t.Errorf("route %s is not in %s", key, specPath)
			continue
		}
		if op.Access != rt.Access.String() {
			t.Errorf("%s: spec says access %q, router %q", key, op.Access, rt.Access)
		}
		wantRole := ""
		if rt.Access == api.Org {
			wantRole = rt.MinRole.String()
		}
		if op.MinRole != wantRole {
			t.Errorf("%s: spec says minimum role %q, router %q", key, op.MinRole, wantRole)
		}
	}
	for key := range ops {
		if _, ok := routes[key]; !ok {
			t.Errorf("%s is in %s but the router does not serve it", key, specPath)
		}
	}
}

// TestOpenAPIProblemTypes checks that the spec lists exactly the problem catalogue.
func TestOpenAPIProblemTypes(t *testing.T) {
	_, schemas := loadSpec(t)
	raw, _ := yaml.Marshal(schemas["Problem"])
	var p struct {
		Properties struct {
			Type struct {
				Enum []string `yaml:"enum"`
			} `yaml:"type"`
		} `yaml:"properties"`
	}
	if err := yaml.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ty := range problem.Catalogue() {
		want = append(want, ty.URI)
	}
	got := p.Properties.Type.Enum
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("problem types in the spec:\n %v\nin the catalogue:\n %v", got, want)
	}
}
