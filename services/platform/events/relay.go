package events

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Relay publishes a schema's outbox rows to JetStream, oldest first. Rows are marked
// published only after JetStream acknowledged them; a crash in between republishes
// them with the same Nats-Msg-Id, which JetStream and consumers both deduplicate.
type Relay struct {
	pool   *pgxpool.Pool
	schema string
	js     jetstream.JetStream
	log    *slog.Logger
	// PollInterval is the fallback when no notification arrives.
	PollInterval time.Duration
}

// NewRelay returns a relay for the outbox in schema (pool's search path).
func NewRelay(pool *pgxpool.Pool, schema string, js jetstream.JetStream, log *slog.Logger) *Relay {
	return &Relay{pool: pool, schema: schema, js: js, log: log.With("relay", schema), PollInterval: time.Second}
}

// Run publishes until ctx ends.
// relayBatch bounds the events one relay transaction publishes.
const relayBatch = 200

func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	for {
		for {
			n, err := r.PublishBatch(ctx, relayBatch)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.log.Warn("outbox publish failed; will retry", "err", err)
				break
			}
			if n < relayBatch {
				break // the outbox is drained; the next commit wakes the relay
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(r.PollInterval):
		}
	}
}

// listen turns Postgres notifications for this schema into wake-ups.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := r.pool.Acquire(ctx)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		if _, err := conn.Exec(ctx, `LISTEN tessera_outbox`); err == nil {
			for {
				n, err := conn.Conn().WaitForNotification(ctx)
				if err != nil {
					break
				}
				if n.Payload == r.schema {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}
		}
		// The connection may be mid-wait; never return it to the pool.
		_ = conn.Hijack().Close(context.WithoutCancel(ctx))
	}
}

// PublishBatch publishes up to limit unpublished rows and returns how many it sent.
func (r *Relay) PublishBatch(ctx context.Context, limit int) (int, error) {
	sent := 0
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, subject, event_type, tenant_id, payload, trace, created_at
			FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		type row struct {
			id                     uuid.UUID
			subject, typ, tenantID string
			payload                []byte
			trace                  map[string]string
			created                time.Time
		}
		var batch []row
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.id, &x.subject, &x.typ, &x.tenantID, &x.payload, &x.trace, &x.created); err != nil {
				return err
			}
			batch = append(batch, x)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		futures := make([]jetstream.PubAckFuture, 0, len(batch))
		ids := make([]uuid.UUID, 0, len(batch))
		for _, x := range batch {
			msg := nats.NewMsg(x.subject)
			msg.Data = x.payload
			msg.Header.Set(nats.MsgIdHdr, x.id.String())
			msg.Header.Set(HeaderEventID, x.id.String())
			msg.Header.Set(HeaderEventType, x.typ)
			msg.Header.Set(HeaderTenant, x.tenantID)
			msg.Header.Set(HeaderTime, x.created.UTC().Format(time.RFC3339Nano))
			for k, v := range x.trace {
				http.Header(msg.Header).Set(k, v)
			}
			f, err := r.js.PublishMsgAsync(msg)
			if err != nil {
				return err
			}
			futures = append(futures, f)
			ids = append(ids, x.id)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("events: timed out waiting for JetStream acknowledgement")
			}
		}
		// Published rows go: the stream keeps the events and audit_log the record.
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		sent = len(batch)
		return nil
	})
	return sent, err
}
