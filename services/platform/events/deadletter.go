package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// HealthService is the gRPC health service name under which a Tessera service
// reports its events: NOT_SERVING while events wait in its dead-letter table. The
// service's overall health ("") stays SERVING (docs/adr/0007): one parked event is
// for an operator to look at, not a reason to take the service out of load
// balancing.
const HealthService = "tessera.events.Relay"

// DeadLetter is an event the broker refused for good, parked by the relay.
type DeadLetter struct {
	ID        uuid.UUID `json:"id"`
	Subject   string    `json:"subject"`
	Type      string    `json:"event_type"`
	TenantID  string    `json:"tenant_id"`
	Size      int       `json:"payload_bytes"`
	CreatedAt time.Time `json:"created_at"`
	ParkedAt  time.Time `json:"parked_at"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error"`
}

// ListDeadLetters returns the parked events of pool's schema, oldest first.
func ListDeadLetters(ctx context.Context, pool *pgxpool.Pool) ([]DeadLetter, error) {
	rows, err := pool.Query(ctx, `SELECT id, subject, event_type, tenant_id, length(payload), created_at, parked_at, attempts, error
		FROM outbox_dead_letters ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		err := row.Scan(&d.ID, &d.Subject, &d.Type, &d.TenantID, &d.Size, &d.CreatedAt, &d.ParkedAt, &d.Attempts, &d.Error)
		return d, err
	})
}

// ReplayDeadLetters moves the given parked events (all of them when ids is nil)
// back into the outbox, under their own event IDs, and wakes the relay; it returns
// the IDs it moved. A replayed event goes out after the events that passed it while
// it was parked; one the broker still refuses is parked again, one attempt more.
func ReplayDeadLetters(ctx context.Context, pool *pgxpool.Pool, ids []uuid.UUID) ([]uuid.UUID, error) {
	var moved []uuid.UUID
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH replayed AS (
				DELETE FROM outbox_dead_letters WHERE $1::uuid[] IS NULL OR id = ANY($1) RETURNING *)
			INSERT INTO outbox (id, subject, event_type, tenant_id, payload, trace, created_at, attempts)
			SELECT id, subject, event_type, tenant_id, payload, trace, created_at, attempts FROM replayed
			RETURNING id`, ids)
		if err != nil {
			return err
		}
		if moved, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		if len(moved) > 0 {
			_, err = tx.Exec(ctx, `SELECT pg_notify('tessera_outbox', current_schema())`)
		}
		return err
	})
	return moved, err
}

// DiscardDeadLetters deletes the given parked events (all of them when ids is nil)
// and returns the IDs it deleted. The audit trail keeps their record.
func DiscardDeadLetters(ctx context.Context, pool *pgxpool.Pool, ids []uuid.UUID) ([]uuid.UUID, error) {
	rows, err := pool.Query(ctx, `DELETE FROM outbox_dead_letters WHERE $1::uuid[] IS NULL OR id = ANY($1) RETURNING id`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// WatchDeadLetters counts the parked events of pool's schema every interval until
// ctx ends, records the count as the gauge tessera.events.dead_letters and calls
// report with it. The count is read from the table, not kept by a relay, so every
// replica reports the same and a replay or discard by another process shows up.
// A failed count is logged and reports nothing: the last known state stands. mp is
// the service's meter provider.
func WatchDeadLetters(ctx context.Context, pool *pgxpool.Pool, service string, mp metric.MeterProvider, interval time.Duration, log *slog.Logger, report func(parked int)) {
	gauge, _ := mp.Meter(instrumentation).Int64Gauge("tessera.events.dead_letters",
		metric.WithDescription("Events waiting in the service's outbox_dead_letters table for an operator"),
		metric.WithUnit("{event}"))
	attrs := metric.WithAttributes(attribute.String("service", service))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox_dead_letters`).Scan(&n); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("counting parked events failed", "err", err)
		} else {
			gauge.Record(ctx, int64(n), attrs)
			report(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
