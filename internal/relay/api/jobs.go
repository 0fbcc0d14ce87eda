package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/relay/taskmgr"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Limits of a job.
const (
	maxJobDevices     = 10000
	maxJobInFlight    = 10000
	maxJobAttempts    = 10
	defaultInFlight   = 10
	defaultJobBackoff = 30
)

type jobBody struct {
	Kind    string          `json:"kind"`
	Params  json.RawMessage `json:"params"`
	Devices []string        `json:"devices"`
	Group   string          `json:"group"`
	All     bool            `json:"all"`
	Policy  *store.Policy   `json:"policy"`
	Retry   *store.Retry    `json:"retry"`
	// NotBefore and Deadline bound when the job's tasks may start.
	NotBefore time.Time `json:"notBefore"`
	Deadline  time.Time `json:"deadline"`
}

// JobView is a job as the API answers it (api/openapi.yaml Job).
type JobView struct {
	ID         string          `json:"id"`
	Org        string          `json:"org"`
	Kind       string          `json:"kind"`
	Params     json.RawMessage `json:"params,omitempty"`
	Selection  json.RawMessage `json:"selection,omitempty"`
	Policy     store.Policy    `json:"policy"`
	Retry      store.Retry     `json:"retry"`
	NotBefore  time.Time       `json:"notBefore,omitzero"`
	Deadline   time.Time       `json:"deadline,omitzero"`
	CreatedBy  string          `json:"createdBy"`
	CreatedAt  time.Time       `json:"createdAt"`
	State      string          `json:"state"`
	Reason     string          `json:"reason,omitempty"`
	Cancelled  bool            `json:"cancelled,omitempty"`
	Aborted    bool            `json:"aborted,omitempty"`
	Tasks      int             `json:"tasks"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	// Counts are the job's tasks per state.
	Counts map[taskstate.State]int `json:"counts"`

	// CreatedByEmail names the person who created the job; empty for an application,
	// or once the account is deleted.
	CreatedByEmail string `json:"createdByEmail,omitempty"`
}

func viewJob(ctx context.Context, names *people, j store.Job, counts map[taskstate.State]int) JobView {
	return JobView{ID: j.ID, Org: j.Org, Kind: j.Kind, Params: j.Params, Selection: j.Selection, Policy: j.Policy, Retry: j.Retry,
		NotBefore: j.NotBefore, Deadline: j.Deadline, CreatedBy: j.CreatedBy, CreatedByEmail: names.email(ctx, j.CreatedBy),
		CreatedAt: j.CreatedAt, State: string(j.State),
		Reason: j.Reason, Cancelled: j.Cancelled, Aborted: j.Aborted, Tasks: j.Tasks, FinishedAt: j.FinishedAt, Counts: counts}
}

// createJob is POST /jobs: one task per selected device, refused as a whole when the
// kind, its parameters or any device is wrong.
func (a *API) createJob(w http.ResponseWriter, r *http.Request) error {
	var body jobBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := PrincipalFrom(r.Context())
	ctx := r.Context()
	if err := taskkind.Validate(body.Kind, body.Params); err != nil {
		if errors.Is(err, taskkind.ErrUnknownKind) {
			return problem.Invalid("kind", err.Error())
		}
		return problem.Invalid("params", err.Error())
	}
	job := store.Job{Org: p.Org, Kind: body.Kind, Params: body.Params, CreatedBy: p.Subject(),
		NotBefore: body.NotBefore, Deadline: body.Deadline,
		Policy: store.Policy{MaxInFlight: defaultInFlight}, Retry: store.Retry{MaxAttempts: 1, BackoffSeconds: defaultJobBackoff}}
	if body.Policy != nil {
		job.Policy = *body.Policy
		if job.Policy.MaxInFlight == 0 {
			job.Policy.MaxInFlight = defaultInFlight
		}
	}
	if body.Retry != nil {
		job.Retry = *body.Retry
	}
	if err := checkPolicy(job); err != nil {
		return err
	}
	devices, err := a.selectDevices(ctx, p.Org, body)
	if err != nil {
		return err
	}
	sel, _ := json.Marshal(map[string]any{"devices": body.Devices, "group": body.Group, "all": body.All})
	job.Selection = sel
	tasks := make([]store.Task, 0, len(devices))
	for _, d := range devices {
		params, err := a.taskParams(ctx, body.Kind, body.Params, d)
		if err != nil {
			return err
		}
		agent := d.EdgeHost
		if d.AgentID != "" {
			agent = d.AgentID
		}
		tasks = append(tasks, store.Task{
			TaskReport:  linkapi.TaskReport{Kind: body.Kind, Serial: d.Serial},
			EdgeHost:    agent,
			Params:      params,
			MaxAttempts: job.Retry.MaxAttempts,
			Backoff:     time.Duration(job.Retry.BackoffSeconds) * time.Second,
			NotBefore:   body.NotBefore,
			Deadline:    body.Deadline,
		})
	}
	job, err = a.store.CreateJob(ctx, job, tasks)
	if err != nil {
		return err
	}
	a.auditJob(r, auditJobCreate, job, http.StatusCreated, fmt.Sprintf("%s job %s on %d device(s)", job.Kind, job.ID, len(tasks)))
	a.log.InfoContext(ctx, "job created", "job", job.ID, "kind", job.Kind, "tasks", len(tasks), "by", p.Subject())
	if a.cfg.Tasks != nil {
		a.cfg.Tasks.Wake()
	}
	w.Header().Set("Location", "/api/v1/orgs/"+p.Org+"/jobs/"+job.ID)
	return writeJSON(w, http.StatusCreated, viewJob(ctx, a.people(), job, map[taskstate.State]int{taskstate.Queued: len(tasks)}))
}

// Audit actions of jobs.
const (
	auditJobCreate = "job.create"
	auditJobCancel = "job.cancel"
)

// auditJob records a change of a job: who made or cancelled which job, in its detail
// (so that a search for the job's ID finds it).
func (a *API) auditJob(r *http.Request, action string, j store.Job, status int, detail string) {
	p := PrincipalFrom(r.Context())
	if a.cfg.Audit == nil || p == nil {
		return
	}
	a.cfg.Audit.Record(store.AuditEntry{At: a.store.Now().UTC(), Org: p.Org, Principal: p.Subject(), Action: action,
		Method: r.Method, Path: r.URL.Path, Status: status, Detail: detail})
}

func checkPolicy(j store.Job) error {
	pol, re := j.Policy, j.Retry
	switch {
	case pol.MaxInFlight < 1 || pol.MaxInFlight > maxJobInFlight:
		return problem.Invalid("policy.maxInFlight", fmt.Sprintf("from 1 to %d", maxJobInFlight))
	case pol.MaxPerMinute < 0:
		return problem.Invalid("policy.maxPerMinute", "0 (no limit) or more")
	case pol.AbortCount < 0:
		return problem.Invalid("policy.abortCount", "0 (no rule) or more")
	case pol.AbortPercent < 0 || pol.AbortPercent > 100:
		return problem.Invalid("policy.abortPercent", "from 0 (no rule) to 100")
	case re.MaxAttempts < 1 || re.MaxAttempts > maxJobAttempts:
		return problem.Invalid("retry.maxAttempts", fmt.Sprintf("from 1 (no retry) to %d", maxJobAttempts))
	case re.BackoffSeconds < 0 || re.BackoffSeconds > 86400:
		return problem.Invalid("retry.backoffSeconds", "from 0 to 86400")
	case !j.Deadline.IsZero() && !j.NotBefore.IsZero() && !j.Deadline.After(j.NotBefore):
		return problem.Invalid("deadline", "must be after notBefore")
	}
	if pol.Window != nil {
		return checkWindow("policy.window", pol.Window)
	}
	return nil
}

// checkWindow checks a daily window's times of day. A window that ends when it starts is
// refused: it is never open, so a job held to it would neither start nor end.
func checkWindow(field string, w *store.Window) error {
	for name, v := range map[string]string{field + ".start": w.Start, field + ".end": w.End} {
		if _, err := time.Parse("15:04", v); err != nil || len(v) != 5 {
			return problem.Invalid(name, "a time of day HH:MM (UTC)")
		}
	}
	if w.Start == w.End {
		return problem.Invalid(field+".end", "must differ from start (a window that ends when it starts is never open)")
	}
	return nil
}

// selectDevices resolves a job's selection: exactly one of devices, group and all; every
// device must be managed by an agent.
func (a *API) selectDevices(ctx context.Context, org string, body jobBody) ([]store.Device, error) {
	ways := 0
	for _, set := range []bool{len(body.Devices) > 0, body.Group != "", body.All} {
		if set {
			ways++
		}
	}
	if ways != 1 {
		return nil, problem.Invalid("devices", "select the devices with exactly one of devices, group or all")
	}
	var out []store.Device
	if len(body.Devices) > 0 {
		if len(body.Devices) > maxJobDevices {
			return nil, problem.Invalid("devices", fmt.Sprintf("at most %d devices per job", maxJobDevices))
		}
		var unknown []string
		seen := map[string]bool{}
		for _, s := range body.Devices {
			d, err := a.store.Device(ctx, org, strings.TrimSpace(s))
			if errors.Is(err, store.ErrNotFound) {
				unknown = append(unknown, s)
				continue
			}
			if err != nil {
				return nil, err
			}
			if !seen[d.Serial] {
				seen[d.Serial] = true
				out = append(out, d)
			}
		}
		if len(unknown) > 0 {
			return nil, problem.Invalid("devices", "not in this organization's inventory: "+strings.Join(unknown[:min(len(unknown), 20)], ", "))
		}
	} else {
		f := store.DeviceFilter{Group: body.Group}
		if body.Group != "" {
			if _, err := a.store.Group(ctx, org, body.Group); errors.Is(err, store.ErrNotFound) {
				return nil, problem.Invalid("group", "no such resource group in this organization")
			} else if err != nil {
				return nil, err
			}
		}
		for cursor := ""; ; {
			ds, next, err := a.store.ListDevices(ctx, org, f, cursor, 1000)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				if d.Deep() {
					out = append(out, d)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(out) > maxJobDevices {
			return nil, problem.Invalid("devices", fmt.Sprintf("at most %d devices per job", maxJobDevices))
		}
	}
	var light []string
	for _, d := range out {
		if !d.Deep() {
			light = append(light, d.Serial)
		}
	}
	if len(light) > 0 {
		return nil, problem.Invalid("devices", "no agent manages these devices (light integration): "+strings.Join(light[:min(len(light), 20)], ", "))
	}
	if len(out) == 0 {
		return nil, problem.Invalid("devices", "the selection holds no device managed by an agent")
	}
	return out, nil
}

// taskParams are a device's task parameters: for software, the release file that fits it.
func (a *API) taskParams(ctx context.Context, kind string, params json.RawMessage, d store.Device) (json.RawMessage, error) {
	out, err := taskmgr.TaskParams(ctx, a.cfg.Releases, kind, params, d)
	var noRelease *releasefiles.NoReleaseError
	var badParam *taskmgr.ParamError
	switch {
	case errors.Is(err, taskmgr.ErrArtifactGiven):
		return nil, problem.Invalid("params.artifact", "the relay picks the release file; give the version only")
	case errors.Is(err, taskmgr.ErrNoCatalog):
		return nil, problem.New(problem.Unavailable, "this relay has no software catalog")
	case errors.As(err, &noRelease):
		return nil, problem.Invalid("params.version", "no such release: "+noRelease.What+" in the release catalog")
	case errors.As(err, &badParam):
		return nil, problem.Invalid(badParam.Field, badParam.Err.Error())
	}
	return out, err
}

// counts are a job's tasks per state.
func (a *API) jobCounts(ctx context.Context, j store.Job) (map[taskstate.State]int, error) {
	ts, err := a.store.Tasks(ctx, j.Org, store.TaskFilter{JobID: j.ID, NoTransitions: true}, maxJobDevices)
	if err != nil {
		return nil, err
	}
	c := map[taskstate.State]int{}
	for _, t := range ts {
		c[t.State]++
	}
	return c, nil
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	for k := range r.URL.Query() {
		if k != "limit" && k != "cursor" {
			return problem.Invalid(k, "unknown query parameter; use cursor, limit")
		}
	}
	js, next, err := a.store.Jobs(r.Context(), PrincipalFrom(r.Context()).Org, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]JobView, 0, len(js))
	names := a.people()
	for _, j := range js {
		c, err := a.jobCounts(r.Context(), j)
		if err != nil {
			return err
		}
		out = append(out, viewJob(r.Context(), names, j, c))
	}
	page := listOf(out)
	page.NextCursor = next
	return writeJSON(w, http.StatusOK, page)
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.store.Job(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := a.jobCounts(r.Context(), j)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewJob(r.Context(), a.people(), j, c))
}

// cancelJob stops a job: tasks not started are cancelled, agents are asked to cancel the
// ones they hold.
func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	j, err := a.store.UpdateJob(r.Context(), p.Org, r.PathValue("id"), func(j *store.Job) error {
		if j.State != store.JobRunning {
			return problem.Newf(problem.Conflict, "the job already ended (%s)", j.State)
		}
		j.Cancelled, j.Reason = true, "cancelled by "+p.Subject()
		return nil
	})
	if err != nil {
		return err
	}
	a.auditJob(r, auditJobCancel, j, http.StatusAccepted, fmt.Sprintf("%s job %s cancelled", j.Kind, j.ID))
	if a.cfg.Tasks != nil {
		a.cfg.Tasks.Wake()
	}
	c, err := a.jobCounts(r.Context(), j)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, viewJob(r.Context(), a.people(), j, c))
}

// jobEvents is a server-sent event stream of a job's progress: a "progress" event with
// the job and its counts whenever they change, until the job ends.
func (a *API) jobEvents(w http.ResponseWriter, r *http.Request) error {
	org, id := PrincipalFrom(r.Context()).Org, r.PathValue("id")
	j, err := a.store.Job(r.Context(), org, id)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return problem.New(problem.Internal, "streaming is not available")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	last := ""
	names := a.people()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := a.jobCounts(r.Context(), j)
		if err != nil {
			return nil
		}
		b, _ := json.Marshal(viewJob(r.Context(), names, j, c))
		if string(b) != last {
			last = string(b)
			if _, err := fmt.Fprintf(w, "event: progress\ndata: %s\n\n", b); err != nil {
				return nil
			}
			fl.Flush()
		}
		if j.State != store.JobRunning {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		}
		if j, err = a.store.Job(r.Context(), org, id); err != nil {
			return nil
		}
	}
}
