package taskengine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Runner does one kind of task. It must check the device's state first, so that running
// a task again after a crash is safe (an upgrade to the version the device already runs
// succeeds without uploading). progress records a step in the task's transitions.
type Runner interface {
	Run(ctx context.Context, t Task, progress func(detail string)) (json.RawMessage, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, t Task, progress func(detail string)) (json.RawMessage, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, t Task, progress func(string)) (json.RawMessage, error) {
	return f(ctx, t, progress)
}

// Config describes an Engine.
type Config struct {
	// Journal is the bbolt file of the journal (required).
	Journal string
	// Runners by task kind; a task of another kind is refused.
	Runners map[string]Runner
	// Concurrency bounds the tasks running at once (default 16); a device runs one at a time.
	Concurrency int
	// OnChange, when set, is called after every journaled change (something to report).
	OnChange func()
	Logger   *slog.Logger
	Now      func() time.Time
}

var (
	// ErrUnknownKind: no runner for the task's kind.
	ErrUnknownKind = errors.New("taskengine: unknown task kind")
	// ErrInvalid: the task lacks an ID, a serial or an attempt.
	ErrInvalid = errors.New("taskengine: invalid task")
)

// Engine runs tasks from its journal.
type Engine struct {
	cfg Config
	j   *journal
	log *slog.Logger
	// wake is signalled when a task may be startable (capacity 1).
	wake chan struct{}

	mu         sync.Mutex
	waiting    map[string]uint64    // accepted task IDs -> their order
	unreported map[string]bool      // task IDs whose latest state is not acknowledged
	busy       map[string]bool      // serials with a running task
	live       map[string]*liveTask // started task ID -> its runner's hold (see Cancel)
	cancelling map[string]int       // task IDs a Cancel is journaling: they do not start
	running    int
}

// liveTask is a task the engine started, from before its move to running until its
// goroutine lets go of it. Cancel stops the runner through cancel and sets cancelled,
// so that the task ends cancelled even if its runner succeeds meanwhile or the engine
// is stopping; ended is set when the runner has returned, after which a cancel comes
// too late. Both fields are under Engine.mu.
type liveTask struct {
	cancel    context.CancelFunc
	cancelled bool
	ended     bool
}

// Open opens the journal. Tasks that were running when the engine last stopped go back
// to accepted: their runners check the device first, so running them again is safe.
func Open(cfg Config) (*Engine, error) {
	if cfg.Journal == "" {
		return nil, errors.New("taskengine: Config.Journal is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	j, err := openJournal(cfg.Journal)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, j: j, log: cfg.Logger.With("component", "taskengine"), wake: make(chan struct{}, 1),
		waiting: map[string]uint64{}, unreported: map[string]bool{}, busy: map[string]bool{}, live: map[string]*liveTask{},
		cancelling: map[string]int{}}
	interrupted, err := j.all(func(r Record) bool { return r.State == taskstate.Running })
	if err != nil {
		j.close()
		return nil, err
	}
	for _, r := range interrupted {
		if _, err := e.move(r.ID, r.Attempt, taskstate.Running, taskstate.Accepted, "resumed after a restart", nil); err != nil {
			j.close()
			return nil, err
		}
	}
	accepted, err := j.all(func(r Record) bool { return r.State == taskstate.Accepted })
	if err != nil {
		j.close()
		return nil, err
	}
	for _, r := range accepted {
		e.waiting[r.ID] = r.Seq
	}
	pending, err := j.all(func(r Record) bool { return !r.Reported })
	if err != nil {
		j.close()
		return nil, err
	}
	for _, r := range pending {
		e.unreported[r.ID] = true
	}
	return e, nil
}

// Close closes the journal; Run must have returned.
func (e *Engine) Close() error { return e.j.close() }

// Submit journals a task as accepted and returns its record. Submitting the same ID and
// attempt again returns the record as it stands, so a task delivered twice runs once; an
// older attempt than the journal's is ignored the same way.
func (e *Engine) Submit(t Task) (Record, error) {
	if t.ID == "" || t.Serial == "" || t.Attempt < 1 {
		return Record{}, fmt.Errorf("%w: id %q, serial %q, attempt %d", ErrInvalid, t.ID, t.Serial, t.Attempt)
	}
	if _, ok := e.cfg.Runners[t.Kind]; !ok {
		return Record{}, fmt.Errorf("%w %q", ErrUnknownKind, t.Kind)
	}
	r, err := e.j.update(t.ID, func(r *Record, exists bool) (bool, error) {
		if exists && r.Attempt >= t.Attempt {
			return false, nil
		}
		// A new attempt is a new task here: it starts from nothing, after the
		// transitions of the earlier ones.
		*r = Record{Task: t, Transitions: r.Transitions}
		return true, e.advance(r, taskstate.Accepted, "")
	})
	if err != nil {
		return Record{}, fmt.Errorf("taskengine: journal %s: %w", t.ID, err)
	}
	e.track(r)
	e.changed()
	return r, nil
}

// SubmitAll submits tasks concurrently, so that their journal entries share
// transactions; it returns the records in order, or the first error.
func (e *Engine) SubmitAll(ts []Task) ([]Record, error) {
	out := make([]Record, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = e.Submit(t)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out[:i], fmt.Errorf("task %s: %w", ts[i].ID, err)
		}
	}
	return out, nil
}

// Cancel cancels a task that has not ended: one waiting is cancelled at once and does
// not start, a running one when its runner returns, one whose runner stopped with the
// engine at once (it does not resume). Cancelling an ended task does nothing.
//
// A cancel that returns nil wins over everything that has not happened yet: the decision
// is taken under Engine.mu when Cancel is called, not when its journal write commits
// (which may be many milliseconds later, long enough for a runner to finish). A started
// task's liveTask is flagged there, and its goroutine reads the flag before it starts
// the runner and again, under the same lock, when the runner returns; a task not
// started is held back from starting (e.cancelling) until the journal says cancelled.
func (e *Engine) Cancel(id string) error {
	e.mu.Lock()
	l := e.live[id]
	if l != nil && !l.ended {
		l.cancelled = true
	}
	e.cancelling[id]++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		if e.cancelling[id]--; e.cancelling[id] == 0 {
			delete(e.cancelling, id)
		}
		e.mu.Unlock()
		e.wakeUp()
	}()
	if l != nil {
		l.cancel()
	}
	// held: a goroutine of the engine has the task, and it journals how the task ends.
	// Without one, a task the journal has running stopped with the engine and would
	// resume at the next Open.
	held := l != nil
	moved := false
	r, err := e.j.update(id, func(r *Record, exists bool) (bool, error) {
		moved = false
		if !exists {
			return false, ErrNotFound
		}
		detail := ""
		switch {
		case r.State == taskstate.Accepted:
			detail = "cancelled before it started"
		case r.State == taskstate.Running && !held:
			detail = "cancelled while the engine was stopped"
		default:
			return false, nil
		}
		if err := e.advance(r, taskstate.Cancelled, detail); err != nil {
			return false, err
		}
		moved = true
		return true, nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("taskengine: journal the cancel of %s: %w", id, err)
	}
	if moved {
		e.track(r)
		e.changed()
	}
	return nil
}

// Adopt journals an ended task's record made elsewhere (by an older store of the
// program's tasks), as it stands, Reported included, unless the journal has a task of
// that ID already: adopting the same records again, after a crash, changes nothing. It
// reports whether the record was journaled. A task that has not ended is refused: the
// engine would run it, and its runner was never given it.
func (e *Engine) Adopt(r Record) (bool, error) {
	if r.ID == "" || !r.State.Final() {
		return false, fmt.Errorf("%w: adopt %q in state %q: only ended tasks", ErrInvalid, r.ID, r.State)
	}
	adopted := false
	out, err := e.j.update(r.ID, func(cur *Record, exists bool) (bool, error) {
		adopted = false
		if exists {
			return false, nil
		}
		*cur = r
		cur.Seq = 0
		adopted = true
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("taskengine: journal %s: %w", r.ID, err)
	}
	if adopted {
		e.track(out)
		e.changed()
	}
	return adopted, nil
}

// Get returns a task's record.
func (e *Engine) Get(id string) (Record, error) { return e.j.get(id) }

// Unreported lists records whose latest state the task manager has not acknowledged.
func (e *Engine) Unreported() ([]Record, error) {
	e.mu.Lock()
	ids := make([]string, 0, len(e.unreported))
	for id := range e.unreported {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		r, err := e.j.get(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !r.Reported {
			out = append(out, r)
		}
	}
	return out, nil
}

// List lists every record.
func (e *Engine) List() ([]Record, error) { return e.j.all(func(Record) bool { return true }) }

// MarkReported records the task manager's acknowledgement of these records; a task that
// moved on since stays unreported.
func (e *Engine) MarkReported(rs []Record) error {
	sent := make(map[string]Record, len(rs))
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		sent[r.ID] = r
		ids = append(ids, r.ID)
	}
	var acked []string
	err := e.j.updateMany(ids, func(r *Record) bool {
		s := sent[r.ID]
		if r.Attempt != s.Attempt || len(r.Transitions) != len(s.Transitions) || r.Reported {
			return false
		}
		r.Reported = true
		acked = append(acked, r.ID)
		return true
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	for _, id := range acked {
		delete(e.unreported, id)
	}
	e.mu.Unlock()
	return nil
}

func (e *Engine) changed() {
	e.wakeUp()
	if e.cfg.OnChange != nil {
		e.cfg.OnChange()
	}
}

// wakeUp asks Run to look for startable tasks.
func (e *Engine) wakeUp() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// track keeps the in-memory lists of waiting and unreported tasks in step with the journal.
func (e *Engine) track(r Record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.State == taskstate.Accepted {
		e.waiting[r.ID] = r.Seq
	} else {
		delete(e.waiting, r.ID)
	}
	if r.Reported {
		delete(e.unreported, r.ID)
	} else {
		e.unreported[r.ID] = true
	}
}

// move journals a transition of the given attempt from state from; a record of another
// attempt or in another state is left alone (and reported as not moved). A record in a
// final state thus never moves again: a task cancelled as it was starting does not run.
func (e *Engine) move(id string, attempt int, from, to taskstate.State, detail string, result json.RawMessage) (bool, error) {
	moved := false
	r, err := e.j.update(id, func(r *Record, exists bool) (bool, error) {
		moved = false
		if !exists || r.Attempt != attempt || r.State != from {
			return false, nil
		}
		if err := e.advance(r, to, detail); err != nil {
			return false, err
		}
		if result != nil {
			r.Result = result
		}
		moved = true
		return true, nil
	})
	if moved && err == nil {
		e.track(r)
	}
	return moved, err
}

// Run starts accepted tasks in the order they were accepted, at most Concurrency at
// once and one per device, until ctx is done; then it cancels the running ones and waits
// for them (they resume at the next Open).
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second) // deadlines pass without a wake-up
	defer tick.Stop()
	for {
		if err := e.startReady(ctx, &wg); err != nil {
			e.log.Error("start tasks", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-tick.C:
		}
	}
}

func (e *Engine) startReady(ctx context.Context, wg *sync.WaitGroup) error {
	e.mu.Lock()
	ids := make([]string, 0, len(e.waiting))
	for id := range e.waiting {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(e.waiting[a], e.waiting[b]) })
	e.mu.Unlock()
	now := e.cfg.Now()
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		e.mu.Lock()
		full := e.running >= e.cfg.Concurrency
		e.mu.Unlock()
		if full {
			return nil
		}
		r, err := e.j.get(id)
		if err != nil {
			return err
		}
		if r.State != taskstate.Accepted {
			continue
		}
		resumed := resumedAt(r)
		// The deadline bounds the wait for a start: a task that ran before a restart has
		// started, and only its runner can tell how far it got (an upgrade the device
		// took is done, not expired).
		if !r.Deadline.IsZero() && now.After(r.Deadline) && resumed == nil {
			moved, err := e.move(r.ID, r.Attempt, taskstate.Accepted, taskstate.Expired, "the deadline passed before the task could start", nil)
			if err != nil {
				return err
			}
			if moved {
				e.changed()
			}
			continue
		}
		e.mu.Lock()
		if e.running >= e.cfg.Concurrency {
			e.mu.Unlock()
			return nil
		}
		if e.busy[r.Serial] || e.cancelling[r.ID] > 0 {
			e.mu.Unlock()
			continue
		}
		e.busy[r.Serial] = true
		e.running++
		tctx, cancel := context.WithCancel(ctx)
		l := &liveTask{cancel: cancel}
		e.live[r.ID] = l
		e.mu.Unlock()
		t := r.Task
		t.Resumed = resumed
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.finish(r, l)
			if e.cancelled(l) { // Cancel journals it cancelled: it finds it accepted
				return
			}
			// Journaled here, not before the goroutine, so that tasks starting together
			// share one transaction.
			moved, err := e.move(r.ID, r.Attempt, taskstate.Accepted, taskstate.Running, "", nil)
			if err != nil {
				e.log.Error("journal the start", "task", r.ID, "err", err)
				return
			}
			if !moved { // cancelled (or superseded by a new attempt) since it was read
				e.log.Debug("task left accepted before it started", "task", r.ID, "attempt", r.Attempt)
				return
			}
			e.changed()
			if e.cancelled(l) { // cancelled as it moved to running: no runner
				e.end(r.ID, r.Attempt, taskstate.Cancelled, "cancelled before its runner started", nil)
				return
			}
			e.execute(tctx, ctx, t, l)
		}()
	}
	return nil
}

// resumedAt is the last progress of the current attempt when it ran before, else nil.
func resumedAt(r Record) *string {
	var last *string
	for _, tr := range r.Transitions {
		if tr.Attempt == r.Attempt && tr.State == taskstate.Running {
			d := tr.Detail
			last = &d
		}
	}
	return last
}

func (e *Engine) finish(r Record, l *liveTask) {
	l.cancel()
	e.mu.Lock()
	delete(e.busy, r.Serial)
	if e.live[r.ID] == l {
		delete(e.live, r.ID)
	}
	e.running--
	e.mu.Unlock()
	e.wakeUp()
}

// cancelled reports whether Cancel got to a started task.
func (e *Engine) cancelled(l *liveTask) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return l.cancelled
}

// runnerReturned marks a started task's runner as returned and reports whether Cancel
// got to it before: from here on a cancel comes too late. When the engine is stopping
// and no cancel came, the task is let go of (see execute).
func (e *Engine) runnerReturned(id string, l *liveTask, stopping bool) (cancelled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l.ended = true
	if stopping && !l.cancelled && e.live[id] == l {
		// From here a Cancel finds no runner and journals the cancel itself.
		delete(e.live, id)
	}
	return l.cancelled
}

// execute runs one task and journals how it ended. When the engine itself is stopping
// (parent done) nothing is journaled: the task stays running and resumes at Open;
// unless Cancel got to it first, and then it ends cancelled.
func (e *Engine) execute(ctx, parent context.Context, t Task, l *liveTask) {
	log := e.log.With("task", t.ID, "attempt", t.Attempt, "kind", t.Kind, "serial", t.Serial)
	progress := func(detail string) {
		if moved, err := e.move(t.ID, t.Attempt, taskstate.Running, taskstate.Running, detail, nil); moved && err == nil {
			e.changed()
		}
	}
	result, err := e.cfg.Runners[t.Kind].Run(ctx, t, progress)
	stopping := parent.Err() != nil
	cancelled := e.runnerReturned(t.ID, l, stopping)
	state, detail := taskstate.Succeeded, ""
	switch {
	case cancelled && err != nil:
		state, detail = taskstate.Cancelled, "cancelled while running: "+err.Error()
	case cancelled:
		// The cancel was acknowledged before the runner returned: it wins, though the
		// runner got to the end (its runner checks the device first, so a retry is safe).
		state, detail = taskstate.Cancelled, "cancelled while running"
	case stopping:
		log.Info("engine stopping; the task resumes at the next start")
		return
	case err == nil:
	default:
		state, detail = taskstate.Failed, err.Error()
	}
	e.end(t.ID, t.Attempt, state, detail, result)
}

// advance moves a record of the journal to state to, with its transition, unreported:
// every move the engine journals goes through here, checked against the table of moves
// (package taskstate), so that the engine and the relay agree on what a task may do. A
// move the table refuses is a fault of the engine; the record is left as it was.
func (e *Engine) advance(r *Record, to taskstate.State, detail string) error {
	if err := taskstate.Check(r.State, to); err != nil {
		return fmt.Errorf("taskengine: task %s: %w", r.ID, err)
	}
	r.State, r.Detail, r.Reported = to, detail, false
	r.Transitions = append(r.Transitions, Transition{State: to, At: e.cfg.Now().UTC(), Detail: detail, Attempt: r.Attempt})
	return nil
}

// end journals how a running task ended.
func (e *Engine) end(id string, attempt int, state taskstate.State, detail string, result json.RawMessage) {
	moved, err := e.move(id, attempt, taskstate.Running, state, detail, result)
	if err != nil {
		e.log.Error("journal the end of a task", "task", id, "attempt", attempt, "state", state, "err", err)
		return
	}
	if moved {
		e.log.Debug("task ended", "task", id, "attempt", attempt, "state", state, "detail", detail)
		e.changed()
	}
}
