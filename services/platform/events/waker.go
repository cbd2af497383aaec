package events

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Waker wakes the relay after commits whose events were queued without a
// notification (Outbox.Queue without QueueNotify). A NOTIFY inside a transaction
// takes a database-wide lock that it holds until the commit is on disk, so
// transactions that notify commit one after another, each waiting for the disk in
// turn; write-heavy paths (device mappings) leave it out and wake the relay after
// the commit instead. Wake-ups are coalesced (at most one in flight, and one more
// after it for whatever committed meanwhile) and sent from a transaction that does
// not wait for the disk. A lost wake-up (a crash right after the commit) only
// leaves the events to the relay's next poll: their outbox rows are committed.
type Waker struct {
	pool          *pgxpool.Pool
	mu            sync.Mutex
	sending, more bool
}

// NewWaker returns a waker for the relay of pool's schema.
func NewWaker(pool *pgxpool.Pool) *Waker { return &Waker{pool: pool} }

// wakeTimeout bounds one wake-up.
const wakeTimeout = 5 * time.Second

// Wake wakes the relay soon, without waiting for it.
func (w *Waker) Wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending {
		w.more = true
		return
	}
	w.sending = true
	go w.send()
}

func (w *Waker) send() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wakeTimeout)
		_ = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(`SET LOCAL synchronous_commit = off`)
			QueueNotify(b)
			return tx.SendBatch(ctx, b).Close()
		})
		cancel()
		w.mu.Lock()
		if !w.more {
			w.sending = false
			w.mu.Unlock()
			return
		}
		w.more = false
		w.mu.Unlock()
	}
}
