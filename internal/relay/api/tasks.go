package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "serial", "state", "kind", "job", "limit")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(taskstate.All()))
	for _, s := range taskstate.All() {
		names = append(names, s.String())
	}
	state, _, err := queryValue(q, "state", taskstate.Parse, "one of "+strings.Join(names, ", "))
	if err != nil {
		return err
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
	out := make([]TaskView, 0, len(ts))
	people := a.people()
	for _, t := range ts {
		v := viewTask(t)
		v.CreatedByEmail = people.email(r.Context(), t.CreatedBy)
		out = append(out, v)
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.store.Task(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewTask(t)
	v.CreatedByEmail = a.people().email(r.Context(), t.CreatedBy)
	return writeJSON(w, http.StatusOK, v)
}

// TaskView is a task as the API answers it (api/openapi.yaml Task): what a person
// following a rollout reads, without what the task manager keeps for itself (the retry
// wait, the order in the job, the attempt of each transition, the organization).
type TaskView struct {
	ID           string           `json:"id"`
	Kind         string           `json:"kind"`
	Serial       string           `json:"serial"`
	State        taskstate.State  `json:"state"`
	Attempt      int              `json:"attempt,omitempty"`
	JobID        string           `json:"jobId,omitempty"`
	Params       json.RawMessage  `json:"params,omitempty"`
	Result       json.RawMessage  `json:"result,omitempty"`
	MaxAttempts  int              `json:"maxAttempts,omitempty"`
	NotBefore    time.Time        `json:"notBefore,omitzero"`
	Deadline     time.Time        `json:"deadline,omitzero"`
	DispatchedAt time.Time        `json:"dispatchedAt,omitzero"`
	Detail       string           `json:"detail,omitempty"`
	CreatedBy    string           `json:"createdBy,omitempty"`
	EdgeHost     string           `json:"edgeHost,omitempty"`
	UpdatedAt    time.Time        `json:"updatedAt"`
	Transitions  []TransitionView `json:"transitions"`

	// CreatedByEmail names the person who created the task (through a job); empty for an
	// agent or an application.
	CreatedByEmail string `json:"createdByEmail,omitempty"`
}

// TransitionView is one state change of a task.
type TransitionView struct {
	State  taskstate.State `json:"state"`
	At     time.Time       `json:"at"`
	Detail string          `json:"detail,omitempty"`
}

func viewTask(t store.Task) TaskView {
	v := TaskView{ID: t.ID, Kind: t.Kind, Serial: t.Serial, State: t.State, Attempt: t.Attempt, JobID: t.JobID,
		Params: t.Params, Result: t.Result, MaxAttempts: t.MaxAttempts, NotBefore: t.NotBefore, Deadline: t.Deadline,
		DispatchedAt: t.DispatchedAt, Detail: t.Detail, CreatedBy: t.CreatedBy, EdgeHost: t.EdgeHost, UpdatedAt: t.UpdatedAt,
		Transitions: make([]TransitionView, 0, len(t.Transitions))}
	for _, tr := range t.Transitions {
		v.Transitions = append(v.Transitions, TransitionView{State: tr.State, At: tr.At, Detail: tr.Detail})
	}
	return v
}
