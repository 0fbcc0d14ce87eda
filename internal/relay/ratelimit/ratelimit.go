// Package ratelimit slows down guessing: a Limiter counts failed attempts per key (an
// account, a client, a source address) and, after a number of free failures, makes each
// further attempt wait a delay that doubles with every failure, up to a cap. A key with
// no failure for a while is forgotten, and the number of keys held is bounded, so an
// attacker who sends many distinct keys costs a bounded amount of memory.
//
// Attempts are counted when they start: every Allow that answers ok must be followed by
// exactly one of Fail, Succeed or Cancel. So a burst of parallel attempts gets no more
// than the free ones through, and once delays apply only one attempt per key runs at a
// time.
package ratelimit

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Config tunes a Limiter. Free, Base and Max must be set; zero Forget and MaxKeys mean
// the defaults.
type Config struct {
	// Free is how many failures are answered without delay; the last of them starts
	// the first delay.
	Free int
	// Base is the first delay; each further failure doubles it.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
	// Forget drops a key's record once it has had no failure for this long; 0: an hour
	// or 4×Max, whichever is longer.
	Forget time.Duration
	// MaxKeys bounds the keys held; beyond it, the key that failed least recently is
	// dropped. 0: 100000.
	MaxKeys int
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Limiter counts failures per key. It is safe for concurrent use.
type Limiter struct {
	cfg  Config
	mu   sync.Mutex
	recs lru[*record]
}

type record struct {
	failures int       // failures not yet forgotten
	inFlight int       // attempts allowed and not yet ended
	last     time.Time // the last failure, or when the record was made
	until    time.Time // attempts wait until then
}

// New makes a Limiter.
func New(cfg Config) *Limiter {
	if cfg.Forget == 0 {
		cfg.Forget = max(time.Hour, 4*cfg.Max)
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, recs: newLRU[*record](cfg.MaxKeys)}
}

// Allow starts an attempt for key. It answers false with how long to wait when the key
// is delayed, or when delays apply and another attempt for it is still running.
func (l *Limiter) Allow(key string) (wait time.Duration, ok bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := l.record(key, now)
	if now.Before(rec.until) {
		return rec.until.Sub(now), false
	}
	if rec.inFlight > 0 && rec.failures+rec.inFlight >= l.cfg.Free {
		// The running attempt may fail and set a delay; its answer is not known yet.
		return l.cfg.Base, false
	}
	rec.inFlight++
	l.recs.put(key, rec)
	return 0, true
}

// Fail ends an attempt for key as failed: from the Free-th failure on, the key waits
// Base×2^(failures−Free), capped at Max.
func (l *Limiter) Fail(key string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := l.record(key, now)
	rec.inFlight = max(rec.inFlight-1, 0)
	rec.failures++
	rec.last = now
	if over := rec.failures - l.cfg.Free; over >= 0 {
		d := l.cfg.Max
		if over < 32 {
			d = min(l.cfg.Base<<over, l.cfg.Max)
		}
		rec.until = now.Add(d)
	}
	l.recs.put(key, rec)
}

// Succeed ends an attempt for key as successful: the key's failures are forgotten.
func (l *Limiter) Succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs.remove(key)
}

// Cancel ends an attempt for key that neither failed nor succeeded (another limit
// refused it first, say): the key's record stays as it was.
func (l *Limiter) Cancel(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rec, ok := l.recs.get(key); ok {
		rec.inFlight = max(rec.inFlight-1, 0)
		if rec.inFlight == 0 && rec.failures == 0 {
			l.recs.remove(key) // nothing to remember
		}
	}
}

// Len is the number of keys held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recs.len()
}

// record returns key's record, a fresh one when it has none or its failures are old
// enough to forget. A fresh record is not stored until there is something to keep.
func (l *Limiter) record(key string, now time.Time) *record {
	rec, ok := l.recs.get(key)
	if !ok || (rec.inFlight == 0 && now.Sub(rec.last) >= l.cfg.Forget) {
		return &record{last: now}
	}
	return rec
}

// Recent remembers keys for a while (a source address a user signed in from), at most
// a bounded number of them; the least recently added go first. It is safe for
// concurrent use.
type Recent struct {
	ttl  time.Duration
	now  func() time.Time
	mu   sync.Mutex
	seen lru[time.Time]
}

// NewRecent makes a Recent that remembers keys for ttl, at most maxKeys of them
// (0: 100000); now nil is time.Now.
func NewRecent(ttl time.Duration, maxKeys int, now func() time.Time) *Recent {
	if maxKeys <= 0 {
		maxKeys = 100000
	}
	if now == nil {
		now = time.Now
	}
	return &Recent{ttl: ttl, now: now, seen: newLRU[time.Time](maxKeys)}
}

// Add remembers key from now on.
func (r *Recent) Add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen.put(key, r.now())
}

// Has reports whether key was added less than the ttl ago.
func (r *Recent) Has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.seen.get(key)
	return ok && r.now().Sub(at) < r.ttl
}

// AddressKey is the key of a request's source (http.Request.RemoteAddr, host:port): the
// IPv4 address, or the /64 an IPv6 address is in (one host usually has a whole /64). An
// address that does not parse is its own key.
func AddressKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return remoteAddr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// lru is a map bounded to n entries that drops the least recently put one.
type lru[V any] struct {
	n     int
	items map[string]*list.Element
	order list.List // front: most recently put
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](n int) lru[V] { return lru[V]{n: n, items: map[string]*list.Element{}} }

func (c *lru[V]) get(key string) (V, bool) {
	if e, ok := c.items[key]; ok {
		return e.Value.(*lruEntry[V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[V]) put(key string, val V) {
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry[V]).val = val
		c.order.MoveToFront(e)
		return
	}
	if len(c.items) >= c.n {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[V]).key)
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val})
}

func (c *lru[V]) remove(key string) {
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
		delete(c.items, key)
	}
}

func (c *lru[V]) len() int { return len(c.items) }
