package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// query returns r's query string, or a problem naming a parameter that is not one of
// known: a misspelt filter must not silently list everything.
func query(r *http.Request, known ...string) (url.Values, error) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(known, k) {
			return nil, problem.Invalid(k, "unknown query parameter; use "+strings.Join(known, ", "))
		}
	}
	return q, nil
}

// queryValue parses the query parameter name with parse; unset, it is T's zero value
// and set reports false. A value parse refuses is a problem whose detail is want.
func queryValue[T any](q url.Values, name string, parse func(string) (T, error), want string) (v T, set bool, err error) {
	s := q.Get(name)
	if s == "" {
		return v, false, nil
	}
	if v, err = parse(s); err != nil {
		var zero T
		return zero, false, problem.Invalid(name, want)
	}
	return v, true, nil
}
