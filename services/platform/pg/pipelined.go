package pg

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PipelinedTx is a transaction whose statements travel in batches, one round trip
// per batch: the first batch opens the transaction and the last one commits it. A
// transaction that reads, decides in Go and writes then costs two round trips
// instead of one per statement plus BEGIN and COMMIT, which matters most for short
// transactions that hold a hot row lock.
type PipelinedTx struct {
	conn *pgxpool.Conn
	open bool
	done bool
}

// BeginPipelined reserves a connection for a pipelined transaction; nothing is sent
// yet. Close must follow.
func BeginPipelined(ctx context.Context, pool *pgxpool.Pool) (*PipelinedTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &PipelinedTx{conn: conn}, nil
}

// Send runs b inside the transaction, opening it first if this is the first batch.
func (t *PipelinedTx) Send(ctx context.Context, b *pgx.Batch) error {
	if t.done {
		return errors.New("pg: pipelined transaction is over")
	}
	if !t.open {
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
		t.open = true
	}
	return t.conn.SendBatch(ctx, b).Close()
}

// Commit runs b, then commits, in one round trip.
func (t *PipelinedTx) Commit(ctx context.Context, b *pgx.Batch) error {
	b.Queue("COMMIT")
	err := t.Send(ctx, b)
	if err == nil {
		t.done = true
	}
	return err
}

// Close rolls back what was not committed and gives the connection back.
func (t *PipelinedTx) Close(ctx context.Context) {
	if t.open && !t.done {
		if _, err := t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			// A connection in an unknown state must not serve anyone else.
			_ = t.conn.Hijack().Close(context.WithoutCancel(ctx))
			return
		}
	}
	t.done = true
	t.conn.Release()
}
