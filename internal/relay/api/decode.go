package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// decodeJSON reads a request body into v (a pointer to a struct) strictly: the media type
// must be JSON, the body one JSON object within the size limit (413 otherwise), every
// member a field of v (an unknown member is a 400 naming it), and every value of the
// field's type. It returns a *problem.Problem.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem.Newf(problem.UnsupportedMediaType, "send the body as application/json, not %q", ct)
		}
	} else {
		return problem.New(problem.UnsupportedMediaType, "send the body as application/json (Content-Type header missing)")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem.Newf(problem.TooLarge, "the body is larger than %d bytes", tooBig.Limit)
		}
		return problem.New(problem.BadRequest, "could not read the request body")
	}
	return decodeBody(body, v)
}

// decodeBody is decodeJSON after the transport checks; FuzzDecodeJSON drives it.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return problem.New(problem.MalformedJSON, "the body is empty; send a JSON object")
	}
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil {
		return malformed(err)
	}
	if members == nil {
		return problem.New(problem.MalformedJSON, "the body must be a JSON object, not null")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.New(problem.MalformedJSON, "the body has data after the JSON object")
	}
	known := fieldsOf(reflect.TypeOf(v))
	var unknown []string
	for name := range members {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		p := problem.Newf(problem.UnknownField, "unknown field %q; this operation takes: %s", unknown[0], strings.Join(sortedKeys(known), ", "))
		for _, name := range unknown {
			p.InvalidParams = append(p.InvalidParams, problem.InvalidParam{Name: name, Reason: "unknown field"})
		}
		return p
	}
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return problem.Invalid(te.Field, fmt.Sprintf("must be of JSON type %s", jsonKind(te.Type)))
		}
		return malformed(err)
	}
	return nil
}

func malformed(err error) *problem.Problem {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return problem.Newf(problem.MalformedJSON, "the body is not valid JSON (at byte %d)", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return problem.New(problem.MalformedJSON, "the body must be a JSON object")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return problem.New(problem.MalformedJSON, "the body ends in the middle of the JSON value")
	}
	return problem.New(problem.MalformedJSON, "the body is not a valid JSON object")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "object"
}

var fieldCache sync.Map // reflect.Type -> map[string]bool

// fieldsOf lists the JSON member names a struct type accepts.
func fieldsOf(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	if t.Kind() == reflect.Struct {
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "-":
				continue
			case "":
				name = f.Name
			}
			m[name] = true
		}
	}
	fieldCache.Store(t, m)
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeJSON sends v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// list is the envelope of every collection answer.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}
