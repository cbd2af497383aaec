package schedule

import (
	"context"
	"sync"
	"time"
)

// Clock is the scheduler's source of time. Waits name an instant rather than a
// duration, so a clock moved between reading it and waiting cannot skip a wake-up.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reads t or later; the wait
	// is abandoned when ctx ends.
	At(ctx context.Context, t time.Time) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// At implements Clock.
func (SystemClock) At(_ context.Context, t time.Time) <-chan time.Time {
	return time.After(time.Until(t)) // an abandoned timer is collected (Go 1.23+)
}

// ManualClock is a clock that moves only when told to, for tests that cross a
// scheduled time without sleeping.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced whenever waiters change
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock returns a clock reading now.
func NewManualClock(now time.Time) *ManualClock {
	return &ManualClock{now: now, changed: make(chan struct{})}
}

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// At implements Clock.
func (c *ManualClock) At(ctx context.Context, t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: t, ch: ch})
	c.notify()
	context.AfterFunc(ctx, func() { c.abandon(ch) })
	return ch
}

// abandon forgets a pending wait whose caller left.
func (c *ManualClock) abandon(ch chan time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.waiters {
		if w.ch == ch {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.notify()
			return
		}
	}
}

// Set moves the clock to t (never backwards) and wakes the waits that are due.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		panic("schedule: ManualClock moved backwards")
	}
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
	c.notify()
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Waiting is how many waits are pending.
func (c *ManualClock) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// WaitFor blocks until at least n waits are pending (the schedulers under test are
// asleep), or ctx ends.
func (c *ManualClock) WaitFor(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// notify wakes WaitFor callers; c.mu is held.
func (c *ManualClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}
