package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// decodeCache remembers the decoded form of records that every authorized request reads
// (its token, the caller's membership, the device it names) and of the devices a list
// reads (an inventory read whole by the console), so that the request path does not
// decode the same JSON again and again. An entry is used only while the stored
// bytes are still exactly the bytes it was decoded from, so a write needs no
// invalidation: a changed or deleted record is seen as such on the next read.
//
// Values are returned by copy, and what they refer to (a task's Params) is shared:
// callers must treat it as read-only.
type decodeCache[T any] struct {
	max int // entries kept; beyond it an arbitrary one makes room

	mu sync.Mutex
	m  map[string]cachedRecord[T]
}

type cachedRecord[T any] struct {
	raw []byte
	v   *T
}

func newDecodeCache[T any](max int) *decodeCache[T] {
	return &decodeCache[T]{max: max, m: make(map[string]cachedRecord[T])}
}

// get reads key of b within the caller's transaction: ErrNotFound if absent. A nil
// cache decodes every read (what the benchmarks compare the cache with).
func (c *decodeCache[T]) get(b *bolt.Bucket, key []byte) (T, error) {
	raw := b.Get(key)
	if raw == nil {
		var v T
		return v, ErrNotFound
	}
	v, err := c.decode(key, raw)
	if err != nil {
		return v, fmt.Errorf("decode %s/%s: %w", b.String(), key, err)
	}
	return v, nil
}

// decode is the record stored under key as raw, from the cache when raw is what it was
// decoded from. raw must be valid for the call only (it may live in bbolt's memory map).
func (c *decodeCache[T]) decode(key, raw []byte) (T, error) {
	v, err := c.shared(key, raw)
	if err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

// shared is decode without the copy: the value is the cache's own, read-only.
func (c *decodeCache[T]) shared(key, raw []byte) (*T, error) {
	if c == nil {
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, err
		}
		return v, nil
	}
	c.mu.Lock()
	e, ok := c.m[string(key)]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.v, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	// raw lives in bbolt's memory map only while the transaction does.
	e = cachedRecord[T]{raw: bytes.Clone(raw), v: v}
	c.mu.Lock()
	if _, ok := c.m[string(key)]; !ok && len(c.m) >= c.max {
		for k := range c.m { // map order is random: an arbitrary victim
			delete(c.m, k)
			break
		}
	}
	c.m[string(key)] = e
	c.mu.Unlock()
	return v, nil
}
