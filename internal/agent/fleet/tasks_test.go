package fleet

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/agent/devstore"
	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// The onboarding tasks an older agent kept in the device store move to the task journal
// at start: one that had not ended fails as interrupted and is reported, one the relay
// lacked is reported, one it had is not; the device store keeps no tasks.
func TestDeviceStoreTasksMoveToTheJournal(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	legacy := []devstore.LegacyTask{
		{TaskReport: linkapi.TaskReport{ID: "tsk_running", Kind: taskkind.Onboard, Serial: "ACCC8E000001", CreatedBy: "agent", State: taskstate.Running,
			Transitions: []linkapi.Transition{{State: taskstate.Queued, At: at}, {State: taskstate.Running, At: at}}}},
		{TaskReport: linkapi.TaskReport{ID: "tsk_unsent", Kind: taskkind.Onboard, Serial: "ACCC8E000002", CreatedBy: "agent", State: taskstate.Succeeded,
			Transitions: []linkapi.Transition{{State: taskstate.Queued, At: at}, {State: taskstate.Succeeded, At: at}}}},
		{TaskReport: linkapi.TaskReport{ID: "tsk_sent", Kind: taskkind.Onboard, Serial: "ACCC8E000003", CreatedBy: "agent", State: taskstate.Failed,
			Transitions: []linkapi.Transition{{State: taskstate.Failed, At: at}}}, Reported: true},
	}
	db, err := bolt.Open(filepath.Join(dir, devstore.DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("tasks"))
		u, _ := tx.CreateBucketIfNotExists([]byte("tasks_unreported"))
		for _, tk := range legacy {
			raw, _ := json.Marshal(tk)
			if err := b.Put([]byte(tk.ID), raw); err != nil {
				return err
			}
			if !tk.Reported {
				if err := u.Put([]byte(tk.ID), []byte{1}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	st, err := devstore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := Config{Store: st}
	cfg.InDataDir(dir)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.engine.Close()
	pending, err := m.PendingTasks()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(pending, func(a, b linkapi.TaskReport) int { return strings.Compare(a.ID, b.ID) })
	if len(pending) != 2 || pending[0].ID != "tsk_running" || pending[1].ID != "tsk_unsent" {
		t.Fatalf("pending after the move: %+v", pending)
	}
	if r := pending[0]; r.State != taskstate.Failed || r.Detail != Interrupted || r.CreatedBy != "agent" || len(r.Transitions) != 3 {
		t.Errorf("the interrupted task: %+v", r)
	}
	if r := pending[1]; r.State != taskstate.Succeeded || len(r.Transitions) != 2 || r.Attempt != 1 {
		t.Errorf("the unreported task: %+v", r)
	}
	if rest, err := st.LegacyTasks(); err != nil || len(rest) != 0 {
		t.Errorf("the device store still holds tasks: %+v, %v", rest, err)
	}
	if err := m.TasksReported(pending); err != nil {
		t.Fatal(err)
	}
	if left, _ := m.PendingTasks(); len(left) != 0 {
		t.Errorf("pending after the acknowledgement: %+v", left)
	}
}

// Onboarding tasks are made by Onboard only, which holds their admin credentials: the
// task manager cannot dispatch one.
func TestDispatchedOnboardingIsRefused(t *testing.T) {
	m, _ := startManager(t, Config{})
	_, err := m.RunTasks([]taskengine.Task{{ID: "tsk_1", Attempt: 1, Kind: taskkind.Onboard, Serial: "ACCC8E000001"}})
	if !errors.Is(err, taskengine.ErrUnknownKind) {
		t.Fatalf("dispatching an onboarding task: %v", err)
	}
	if recs, _ := m.TaskRecords(); len(recs) != 0 {
		t.Fatalf("journaled: %+v", recs)
	}
}
