package testtool

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	WaitFor(t, 10*time.Second, "third call", func() bool { return calls.Add(1) >= 3 })
	if got := calls.Load(); got != 3 {
		t.Fatalf("cond called %d times, want 3 (it must stop polling once it holds)", got)
	}
}

// failRecorder stands in for the test so that a timeout can be observed without failing.
type failRecorder struct {
	testing.TB
	failed string
}

func (f *failRecorder) Helper() {}
func (f *failRecorder) Fatalf(format string, args ...any) {
	f.failed = format
	panic(f)
}

func TestWaitForFailsAfterItsDeadline(t *testing.T) {
	r := &failRecorder{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		WaitFor(r, 30*time.Millisecond, "never", func() bool { return false })
	}()
	if r.failed == "" {
		t.Fatal("WaitFor returned for a condition that never held")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("gave up after %v, before its 30ms deadline", el)
	}
}
