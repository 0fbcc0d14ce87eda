package testtool

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test when it still does not after within.
// It is for state a test cannot be told about directly (another process, a socket, a
// store); the poll interval starts at 1 ms and grows to 50 ms, so a condition that holds
// soon is seen soon and a slow one costs little CPU.
func WaitFor(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for d := time.Millisecond; !cond(); d = min(2*d, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(d)
	}
}
