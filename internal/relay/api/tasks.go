package api

import (
	"net/http"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskstate"
)

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "serial", "state", "kind", "job", "limit":
		default:
			return problem.Invalid(k, "unknown query parameter; use serial, state, kind, job, limit")
		}
	}
	var state taskstate.State
	if q.Get("state") != "" {
		var err error
		if state, err = taskstate.Parse(q.Get("state")); err != nil {
			names := make([]string, 0, len(taskstate.All()))
			for _, s := range taskstate.All() {
				names = append(names, s.String())
			}
			return problem.Invalid("state", "one of "+strings.Join(names, ", "))
		}
	}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	f := store.TaskFilter{Serial: q.Get("serial"), State: state, Kind: q.Get("kind"), JobID: q.Get("job")}
	ts, err := a.store.Tasks(r.Context(), PrincipalFrom(r.Context()).Org, f, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ts))
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.store.Task(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
