package devstore

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/seal"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	box, _, err := seal.OpenBox(filepath.Join(dir, "device-key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "agent.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDevicePasswordIsSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const pass = "Zq8-unique-agent-password"
	if err := s.PutDevice(Device{Serial: "ACCC8E000001", Address: "127.0.0.1:8081", User: "camcloud"}, pass); err != nil {
		t.Fatal(err)
	}
	// A later write without a password keeps the sealed one.
	if err := s.UpdateDevice("ACCC8E000001", func(d *Device) { d.Address = "127.0.0.1:9091" }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(pass)) {
		t.Fatal("the agent's database holds a device password in clear text")
	}
	s = open(t, dir)
	defer s.Close()
	d, err := s.Device("ACCC8E000001")
	if err != nil || d.Address != "127.0.0.1:9091" {
		t.Fatalf("device %+v, %v", d, err)
	}
	if got, err := s.Password(d); err != nil || got != pass {
		t.Fatalf("password %q, %v", got, err)
	}
}

// writeLegacyTasks writes onboarding tasks into a closed store's file as older agents
// kept them: a tasks bucket, and the IDs of those the relay lacked in tasks_unreported.
func writeLegacyTasks(t *testing.T, path string, tasks []LegacyTask, unreported ...string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("tasks"))
		if err != nil {
			return err
		}
		u, err := tx.CreateBucketIfNotExists([]byte("tasks_unreported"))
		if err != nil {
			return err
		}
		for _, tk := range tasks {
			if err := put(b, tk.ID, tk); err != nil {
				return err
			}
		}
		for _, id := range unreported {
			if err := u.Put([]byte(id), []byte{1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buckets lists the buckets of a closed store's file.
func buckets(t *testing.T, path string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error { out = append(out, string(name)); return nil })
	})
	return out
}

// An older agent's onboarding tasks are handed over once, with whether the relay had
// their latest state, and then dropped: the store keeps devices only.
func TestLegacyTasksAreHandedOverAndDropped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	open(t, dir).Close()
	if got := buckets(t, path); !slices.Equal(got, []string{"devices"}) {
		t.Fatalf("a new store has buckets %v, want devices only", got)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	running := LegacyTask{TaskReport: linkapi.TaskReport{ID: "t1", Kind: "onboard", Serial: "ACCC8E000001", State: taskstate.Running,
		Transitions: []linkapi.Transition{{State: taskstate.Queued, At: now}, {State: taskstate.Running, At: now}}}}
	done := LegacyTask{TaskReport: linkapi.TaskReport{ID: "t2", Kind: "onboard", Serial: "ACCC8E000002", State: taskstate.Succeeded,
		Transitions: []linkapi.Transition{{State: taskstate.Succeeded, At: now}}}, Reported: true}
	writeLegacyTasks(t, path, []LegacyTask{running, done}, "t1")

	s := open(t, dir)
	got, err := s.LegacyTasks()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "t1" || got[0].Reported || got[0].State != taskstate.Running || len(got[0].Transitions) != 2 ||
		got[1].ID != "t2" || !got[1].Reported || got[1].State != taskstate.Succeeded {
		t.Fatalf("legacy tasks: %+v", got)
	}
	if err := s.DropLegacyTasks(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LegacyTasks(); err != nil || len(got) != 0 {
		t.Fatalf("after the drop: %+v, %v", got, err)
	}
	if err := s.DropLegacyTasks(); err != nil {
		t.Fatalf("dropping again: %v", err)
	}
	s.Close()
	if got := buckets(t, path); !slices.Equal(got, []string{"devices"}) {
		t.Fatalf("after the drop the store has buckets %v, want devices only", got)
	}
}
