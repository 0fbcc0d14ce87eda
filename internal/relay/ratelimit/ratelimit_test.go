package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(free int) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(Config{Free: free, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute, Now: c.now}), c
}

// fail makes one failed attempt, which must be allowed.
func fail(t *testing.T, l *Limiter, key string) {
	t.Helper()
	if wait, ok := l.Allow(key); !ok {
		t.Fatalf("attempt refused, wait %v", wait)
	}
	l.Fail(key)
}

func TestDelaysGrowAndAreCapped(t *testing.T) {
	l, c := newTest(3)
	for range 3 {
		fail(t, l, "k")
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		wait, ok := l.Allow("k")
		if ok || wait != w*time.Second {
			t.Fatalf("failure %d: wait %v ok %v, want %v", i+3, wait, ok, w*time.Second)
		}
		c.t = c.t.Add(wait - time.Millisecond)
		if _, ok := l.Allow("k"); ok {
			t.Fatal("allowed before the wait is over")
		}
		c.t = c.t.Add(time.Millisecond)
		fail(t, l, "k")
	}
	if _, ok := l.Allow("other"); !ok {
		t.Error("another key is held up")
	}
}

func TestSucceedAndForget(t *testing.T) {
	l, c := newTest(2)
	fail(t, l, "k")
	fail(t, l, "k")
	if _, ok := l.Allow("k"); ok {
		t.Fatal("not delayed")
	}
	c.t = c.t.Add(time.Second)
	if _, ok := l.Allow("k"); !ok {
		t.Fatal("refused after the wait")
	}
	l.Succeed("k")
	fail(t, l, "k") // the first failure again: free
	fail(t, l, "k")
	c.t = c.t.Add(15 * time.Minute)
	fail(t, l, "k") // forgotten: free again
	if l.Len() != 1 {
		t.Errorf("%d keys", l.Len())
	}
}

// TestParallelAttemptsGetOnlyTheFreeOnes: attempts started together count before they
// end, so a burst cannot run more than the free ones.
func TestParallelAttemptsGetOnlyTheFreeOnes(t *testing.T) {
	l, _ := newTest(5)
	var allowed int
	for range 100 {
		if _, ok := l.Allow("k"); ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d attempts allowed at once, want 5", allowed)
	}
	for range 5 {
		l.Cancel("k")
	}
	if l.Len() != 0 {
		t.Errorf("cancelled attempts left %d records", l.Len())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if _, ok := l.Allow("k"); ok {
					l.Fail("k")
				}
			}
		})
	}
	wg.Wait()
}

// TestMemoryIsBounded: 100000 distinct keys from an attacker leave at most MaxKeys.
func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Now()}
	l := New(Config{Free: 1, Base: time.Second, Max: time.Minute, MaxKeys: 1000, Now: c.now})
	r := NewRecent(time.Hour, 1000, c.now)
	for i := range 100000 {
		k := "attacker" + strconv.Itoa(i)
		if _, ok := l.Allow(k); ok {
			l.Fail(k)
		}
		r.Add(k)
	}
	if l.Len() > 1000 || r.seen.len() > 1000 {
		t.Errorf("%d and %d keys held, want at most 1000", l.Len(), r.seen.len())
	}
	if _, ok := l.Allow("attacker99999"); ok {
		t.Error("the most recent key was dropped")
	}
}

func TestRecent(t *testing.T) {
	c := &clock{t: time.Now()}
	r := NewRecent(time.Hour, 2, c.now)
	r.Add("a")
	if !r.Has("a") || r.Has("b") {
		t.Fatal("Has")
	}
	c.t = c.t.Add(time.Hour)
	if r.Has("a") {
		t.Error("remembered past its time")
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5555":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:1":            "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":           "2001:db8:1:3::/64",
		"@":                               "@",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
