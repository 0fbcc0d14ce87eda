package api_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
)

// spec is api/openapi.yaml as plain values, for checking real answers against the
// response schemas it declares.
type spec struct {
	doc map[string]any
}

var (
	specOnce   sync.Once
	loadedSpec *spec
	specErr    error
)

// openAPI loads api/openapi.yaml once per test binary.
func openAPI(t *testing.T) *spec {
	t.Helper()
	specOnce.Do(func() {
		raw, err := os.ReadFile(specPath)
		if err != nil {
			specErr = err
			return
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			specErr = fmt.Errorf("%s: %w", specPath, err)
			return
		}
		loadedSpec = &spec{doc: doc}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return loadedSpec
}

// responseSchema is the schema the spec declares for a JSON answer of the route with
// status, and whether it declares one. A declared answer with another content type
// (text, event streams) or none has no JSON schema.
func (s *spec) responseSchema(rt api.Route, status int) (map[string]any, error) {
	path := strings.ReplaceAll(rt.Pattern, "...}", "}")
	op, _ := s.at("paths", path, strings.ToLower(rt.Method)).(map[string]any)
	if op == nil {
		return nil, fmt.Errorf("no operation %s %s in the spec", rt.Method, path)
	}
	responses, _ := op["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(status)]
	if !ok {
		resp, ok = responses[fmt.Sprintf("%dXX", status/100)]
	}
	if !ok {
		resp, ok = responses["default"]
	}
	if !ok {
		return nil, fmt.Errorf("status %d is not among the declared responses", status)
	}
	r, err := s.deref(resp)
	if err != nil {
		return nil, err
	}
	content, _ := r["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	if media == nil {
		return nil, fmt.Errorf("status %d declares no application/json content", status)
	}
	return s.deref(media["schema"])
}

// at walks the document by keys.
func (s *spec) at(keys ...string) any {
	var cur any = s.doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// deref follows $ref (local JSON pointers) until a schema without one.
func (s *spec) deref(v any) (map[string]any, error) {
	for range 32 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("schema %v is not an object", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		p, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			return nil, fmt.Errorf("$ref %q: only local references are supported", ref)
		}
		var keys []string
		for _, k := range strings.Split(p, "/") {
			keys = append(keys, strings.NewReplacer("~1", "/", "~0", "~").Replace(k))
		}
		if v = s.at(keys...); v == nil {
			return nil, fmt.Errorf("$ref %q points at nothing", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// validate checks a decoded JSON value against a schema, for the subset of JSON Schema
// the spec uses: type, properties, required, additionalProperties, items, enum, const,
// formats date-time and email, pattern, length, range and item-count bounds, and $ref.
// An object schema that lists properties allows no others unless additionalProperties
// says so; one without properties (a free-form object) allows any. Each violation is one
// string naming where in the value it is.
func (s *spec) validate(where string, v any, schemaValue any) []string {
	schema, err := s.deref(schemaValue)
	if err != nil {
		return []string{where + ": " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }
	if alts, ok := schema["oneOf"].([]any); ok {
		matches := 0
		for _, alt := range alts {
			if len(s.validate(where, v, alt)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			fail("%s matches %d of the %d oneOf schemas, want exactly one", brief(v), matches, len(alts))
		}
	}
	if ty, ok := schema["type"]; ok && !typeMatches(ty, v) {
		fail("%s is not of type %v", brief(v), ty)
		return errs
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return sameValue(e, v) }) {
		fail("%s is not one of %v", brief(v), enum)
	}
	if c, ok := schema["const"]; ok && !sameValue(c, v) {
		fail("%s is not %v", brief(v), c)
	}
	switch x := v.(type) {
	case string:
		errs = append(errs, checkString(where, x, schema)...)
	case float64:
		if lo, ok := number(schema["minimum"]); ok && x < lo {
			fail("%v is below the minimum %v", x, lo)
		}
		if hi, ok := number(schema["maximum"]); ok && x > hi {
			fail("%v is above the maximum %v", x, hi)
		}
	case []any:
		if n, ok := number(schema["minItems"]); ok && float64(len(x)) < n {
			fail("%d items, fewer than %v", len(x), n)
		}
		if n, ok := number(schema["maxItems"]); ok && float64(len(x)) > n {
			fail("%d items, more than %v", len(x), n)
		}
		if items, ok := schema["items"]; ok {
			for i, e := range x {
				errs = append(errs, s.validate(fmt.Sprintf("%s[%d]", where, i), e, items)...)
			}
		}
	case map[string]any:
		errs = append(errs, s.checkObject(where, x, schema)...)
	}
	return errs
}

func (s *spec) checkObject(where string, x map[string]any, schema map[string]any) []string {
	var errs []string
	props, _ := schema["properties"].(map[string]any)
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q is missing", where, r))
			}
		}
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	extra, hasExtra := schema["additionalProperties"]
	for _, k := range keys {
		if p, ok := props[k]; ok {
			errs = append(errs, s.validate(where+"."+k, x[k], p)...)
			continue
		}
		switch e := extra.(type) {
		case bool:
			if !e {
				errs = append(errs, fmt.Sprintf("%s: property %q is not declared", where, k))
			}
		case map[string]any:
			errs = append(errs, s.validate(where+"."+k, x[k], e)...)
		default:
			if !hasExtra && props != nil {
				errs = append(errs, fmt.Sprintf("%s: property %q is not declared", where, k))
			}
		}
	}
	return errs
}

var patterns sync.Map // pattern -> *regexp.Regexp

func checkString(where, x string, schema map[string]any) []string {
	var errs []string
	n := float64(len([]rune(x)))
	if lo, ok := number(schema["minLength"]); ok && n < lo {
		errs = append(errs, fmt.Sprintf("%s: %q is shorter than %v", where, x, lo))
	}
	if hi, ok := number(schema["maxLength"]); ok && n > hi {
		errs = append(errs, fmt.Sprintf("%s: %q is longer than %v", where, x, hi))
	}
	if p, ok := schema["pattern"].(string); ok {
		re, _ := patterns.Load(p)
		if re == nil {
			compiled, err := regexp.Compile(p)
			if err != nil {
				return append(errs, fmt.Sprintf("%s: pattern %q: %v", where, p, err))
			}
			re, _ = patterns.LoadOrStore(p, compiled)
		}
		if !re.(*regexp.Regexp).MatchString(x) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", where, x, p))
		}
	}
	switch schema["format"] {
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", where, x))
		}
	case "email":
		if !strings.Contains(x, "@") {
			errs = append(errs, fmt.Sprintf("%s: %q is not an e-mail address", where, x))
		}
	}
	return errs
}

// typeMatches checks a JSON Schema type (a name or a list of names).
func typeMatches(ty any, v any) bool {
	if list, ok := ty.([]any); ok {
		return slices.ContainsFunc(list, func(t any) bool { return typeMatches(t, v) })
	}
	switch ty {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// sameValue compares a value of the spec (YAML: int, float64, string, bool) with a
// decoded JSON value.
func sameValue(specValue, v any) bool {
	if n, ok := number(specValue); ok {
		f, isNum := v.(float64)
		return isNum && f == n
	}
	return specValue == v
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// brief shows a value in a failure message.
func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// checkAnswer validates a 2xx answer of the route against the spec: a JSON answer must
// match the response schema declared for its status; an answer without a body or of
// another content type is not checked here.
func checkAnswer(t *testing.T, rt api.Route, res *relaytest.Response) {
	t.Helper()
	if len(bytes.TrimSpace(res.Body)) == 0 {
		return
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "application/json" {
		return
	}
	s := openAPI(t)
	schema, err := s.responseSchema(rt, res.Status)
	if err != nil {
		t.Errorf("%s %s answered %d with JSON: %v", rt.Method, rt.Pattern, res.Status, err)
		return
	}
	var v any
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Errorf("%s %s: answer is not JSON: %v", rt.Method, rt.Pattern, err)
		return
	}
	for _, e := range s.validate("body", v, schema) {
		t.Errorf("%s %s %d: %s", rt.Method, rt.Pattern, res.Status, e)
	}
}

// The validator itself: what it must refuse and what it must take.
func TestSchemaValidator(t *testing.T) {
	s := &spec{doc: map[string]any{"components": map[string]any{"schemas": map[string]any{
		"Thing": map[string]any{"type": "object", "required": []any{"id"}, "properties": map[string]any{
			"id":    map[string]any{"type": "string", "pattern": "^t_"},
			"n":     map[string]any{"type": "integer", "minimum": 1},
			"at":    map[string]any{"type": "string", "format": "date-time"},
			"kind":  map[string]any{"type": "string", "enum": []any{"a", "b"}},
			"tags":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"free":  map[string]any{"type": "object"},
			"named": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "integer"}},
		}},
	}}}}
	ref := map[string]any{"$ref": "#/components/schemas/Thing"}
	for _, c := range []struct {
		body string
		errs int
	}{
		{`{"id":"t_1","n":2,"at":"2026-01-02T03:04:05Z","kind":"a","tags":["x"],"free":{"any":1},"named":{"x":1}}`, 0},
		{`{"id":"t_1","backoff":30000000000}`, 1}, // undeclared
		{`{"n":1}`, 1},                          // required
		{`{"id":"x_1"}`, 1},                     // pattern
		{`{"id":"t_1","n":1.5}`, 1},             // integer
		{`{"id":"t_1","n":0}`, 1},               // minimum
		{`{"id":"t_1","at":"yesterday"}`, 1},    // date-time
		{`{"id":"t_1","kind":"c"}`, 1},          // enum
		{`{"id":"t_1","tags":null}`, 1},         // null is not an array
		{`{"id":"t_1","tags":[1]}`, 1},          // items
		{`{"id":"t_1","named":{"x":"one"}}`, 1}, // additionalProperties schema
		{`[]`, 1},                               // type
	} {
		var v any
		if err := json.Unmarshal([]byte(c.body), &v); err != nil {
			t.Fatal(err)
		}
		if errs := s.validate("body", v, ref); len(errs) != c.errs {
			t.Errorf("%s: %d violations %v, want %d", c.body, len(errs), errs, c.errs)
		}
	}
}

// The routes the matrix cannot answer 2xx with a bearer token (the token endpoint, an
// edge host's enrollment, accepting an invitation) also answer what the spec declares.
func TestPublicAnswersMatchSpec(t *testing.T) {
	r, tok, org := adminSetup(t)
	route := func(method, pattern string) api.Route { return api.Route{Method: method, Pattern: pattern} }

	res := r.PostForm(t, "/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {relaytest.AdminEmail}, "password": {relaytest.AdminPassword}})
	if res.Status != http.StatusOK {
		t.Fatalf("token: %d %s", res.Status, res.Body)
	}
	checkAnswer(t, route("POST", "/api/v1/auth/token"), res)

	var eh struct {
		EnrollmentToken string `json:"enrollmentToken"`
	}
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/edgehosts", tok, map[string]any{"name": "site"}).JSON(t, &eh)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	res = r.Do(t, "POST", "/api/v1/agent/enroll", "", map[string]any{"token": eh.EnrollmentToken, "csr": string(csr)})
	if res.Status != http.StatusCreated {
		t.Fatalf("enroll: %d %s", res.Status, res.Body)
	}
	checkAnswer(t, route("POST", "/api/v1/agent/enroll"), res)

	var inv struct {
		Code string `json:"code"`
	}
	r.Do(t, "POST", "/api/v1/orgs/"+org+"/invitations", tok, map[string]any{"role": "viewer"}).JSON(t, &inv)
	res = r.Do(t, "POST", "/api/v1/invitations/"+inv.Code+"/accept", "", map[string]any{"email": "new@example.com", "password": "new-password"})
	if res.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	checkAnswer(t, route("POST", "/api/v1/invitations/{code}/accept"), res)
}
