package api

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// A list's filters: an unknown parameter or a value that does not parse is a 400 that
// names the parameter, and a filter left out is no filter.
func TestListQuery(t *testing.T) {
	for _, c := range []struct {
		name, url string
		bad       string // the parameter the problem names; "" for none
		state     taskstate.State
	}{
		{"no filter", "/tasks", "", taskstate.None},
		{"a state", "/tasks?state=running&limit=5", "", taskstate.Running},
		{"a misspelt filter", "/tasks?stat=running", "stat", taskstate.None},
		{"an unknown state", "/tasks?state=done", "state", taskstate.None},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := query(httptest.NewRequest("GET", c.url, nil), "state", "limit")
			var state taskstate.State
			if err == nil {
				state, _, err = queryValue(q, "state", taskstate.Parse, "a task state")
			}
			var p *problem.Problem
			switch {
			case c.bad == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.bad != "" && (!errors.As(err, &p) || len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != c.bad):
				t.Fatalf("want a problem naming %q, got %v", c.bad, err)
			case state != c.state:
				t.Fatalf("state %q, want %q", state, c.state)
			}
		})
	}
}
