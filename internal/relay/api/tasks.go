package api

import (
	"net/http"
	"strconv"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "serial", "state", "kind", "limit":
		default:
			return problem.Invalid(k, "unknown query parameter; use serial, state, kind, limit")
		}
	}
	limit := defaultPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return problem.Invalid("limit", "must be a number from 1 to "+strconv.Itoa(maxPageSize))
		}
		limit = n
	}
	f := store.TaskFilter{Serial: q.Get("serial"), State: q.Get("state"), Kind: q.Get("kind")}
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
