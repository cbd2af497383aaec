// Package ttlcache keeps values for a fixed time: for data that changes rarely and
// may be seen late by that much (catalog entries, tenant settings, signing keys),
// read on hot paths.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values that expire ttl after they were put.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	m   sync.Map // K → entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns an empty cache.
func New[K comparable, V any](ttl time.Duration) *Cache[K, V] { return &Cache[K, V]{ttl: ttl} }

// Get returns the value of k if it was put less than ttl ago.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if e, ok := c.m.Load(k); ok && time.Since(e.(entry[V]).at) < c.ttl {
		return e.(entry[V]).v, true
	}
	var zero V
	return zero, false
}

// Put stores v under k.
func (c *Cache[K, V]) Put(k K, v V) { c.m.Store(k, entry[V]{v: v, at: time.Now()}) }

// Delete forgets k, so that the next Get misses.
func (c *Cache[K, V]) Delete(k K) { c.m.Delete(k) }

// GetOr returns the value of k, or loads, stores and returns it.
func (c *Cache[K, V]) GetOr(k K, load func() (V, error)) (V, error) {
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	v, err := load()
	if err == nil {
		c.Put(k, v)
	}
	return v, err
}
