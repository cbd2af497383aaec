// Package coalesce lets concurrent callers share reads of one key without serving
// anyone a read that began before it asked. A caller that finds no read of its key
// in flight reads at once; callers arriving while one is in flight wait for the next
// read, which starts as soon as the current one ends and answers all of them. Under
// load a hot key is read once per round trip instead of once per caller, and every
// answer is as fresh as a read of the caller's own (read-your-writes holds).
package coalesce

import (
	"context"
	"sync"
)

// Group coalesces reads by key. The zero value is ready to use.
type Group[K comparable, V any] struct {
	mu   sync.Mutex
	keys map[K]*pending[V] // keys with a read in flight, and the read gathering after it
}

// pending is the read that starts when the one in flight ends (nil: nobody waits).
type pending[V any] struct {
	next *call[V]
}

type call[V any] struct {
	read func() (V, error)
	done chan struct{}
	val  V
	err  error
}

// Do returns read's result for key, or that of a read shared with other callers
// that began after this call did. read runs without the caller's cancellation when
// shared, so it must bound itself (a context with a timeout of its own).
func (g *Group[K, V]) Do(ctx context.Context, key K, read func() (V, error)) (V, error) {
	g.mu.Lock()
	if g.keys == nil {
		g.keys = map[K]*pending[V]{}
	}
	p, busy := g.keys[key]
	if !busy {
		g.keys[key] = &pending[V]{}
		g.mu.Unlock()
		v, err := read()
		g.finish(key)
		return v, err
	}
	c := p.next
	if c == nil {
		c = &call[V]{read: read, done: make(chan struct{})}
		p.next = c
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// finish ends the read in flight for key and starts the one gathered behind it.
func (g *Group[K, V]) finish(key K) {
	g.mu.Lock()
	p := g.keys[key]
	c := p.next
	if c == nil {
		delete(g.keys, key)
		g.mu.Unlock()
		return
	}
	p.next = nil
	g.mu.Unlock()
	go func() {
		c.val, c.err = c.read()
		close(c.done)
		g.finish(key)
	}()
}
