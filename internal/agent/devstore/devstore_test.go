package devstore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/agent/secrets"
	"github.com/opencamcloud/camcloud/internal/linkapi"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	box, err := secrets.OpenBox(filepath.Join(dir, "device-key"))
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

func TestTasksAreReportedUntilAcknowledged(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	task := linkapi.TaskReport{ID: "t1", Kind: "onboard", Serial: "ACCC8E000001", State: linkapi.TaskRunning,
		Transitions: []linkapi.Transition{{State: linkapi.TaskQueued, At: now}, {State: linkapi.TaskRunning, At: now}}}
	if err := s.PutTask(task); err != nil {
		t.Fatal(err)
	}
	sent, _ := s.Tasks(true)
	// The task moves on while its report is in flight: the acknowledgement of the old
	// state must not hide the new one.
	task.State = linkapi.TaskSucceeded
	task.Transitions = append(task.Transitions, linkapi.Transition{State: linkapi.TaskSucceeded, At: now})
	if err := s.PutTask(task); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkReported(sent); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.Tasks(true); len(left) != 1 || left[0].State != linkapi.TaskSucceeded {
		t.Fatalf("unreported after a stale acknowledgement: %+v", left)
	}
	left, _ := s.Tasks(true)
	if err := s.MarkReported(left); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.Tasks(true); len(left) != 0 {
		t.Fatalf("still unreported: %+v", left)
	}
	if all, _ := s.Tasks(false); len(all) != 1 {
		t.Fatalf("tasks: %+v", all)
	}
}

func TestInterruptedTasksFail(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	_ = s.PutTask(linkapi.TaskReport{ID: "a", State: linkapi.TaskRunning, Transitions: []linkapi.Transition{{State: linkapi.TaskRunning, At: now}}})
	_ = s.PutTask(linkapi.TaskReport{ID: "b", State: linkapi.TaskSucceeded, Transitions: []linkapi.Transition{{State: linkapi.TaskSucceeded, At: now}}})
	failed, err := s.FailInterrupted(now)
	if err != nil || len(failed) != 1 || failed[0].ID != "a" || failed[0].State != linkapi.TaskFailed || failed[0].Detail == "" {
		t.Fatalf("failed %+v, %v", failed, err)
	}
	if b, _ := s.Task("b"); b.State != linkapi.TaskSucceeded {
		t.Fatalf("a finished task changed: %+v", b)
	}
}
