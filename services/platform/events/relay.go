package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Relay publishes a schema's outbox rows to JetStream, oldest first. Rows are marked
// published only after JetStream acknowledged them; a crash in between republishes
// them with the same Nats-Msg-Id, which JetStream and consumers both deduplicate.
type Relay struct {
	pool   *pgxpool.Pool
	schema string
	js     jetstream.JetStream
	log    *slog.Logger
	parked metric.Int64Counter
	// PollInterval is the fallback when no notification arrives.
	PollInterval time.Duration
	// AckTimeout bounds the wait for JetStream's acknowledgements of one batch.
	AckTimeout time.Duration
}

// NewRelay returns a relay for the outbox in schema (pool's search path). Its
// metrics go to the global meter provider unless an option says otherwise.
func NewRelay(pool *pgxpool.Pool, schema string, js jetstream.JetStream, log *slog.Logger, opts ...RelayOption) *Relay {
	o := relayOptions{meters: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	parked, _ := o.meters.Meter(instrumentation).Int64Counter("tessera.events.parked",
		metric.WithDescription("Events the broker refused for good, parked in the service's outbox_dead_letters table"),
		metric.WithUnit("{event}"))
	return &Relay{pool: pool, schema: schema, js: js, log: log.With("relay", schema), parked: parked, PollInterval: time.Second, AckTimeout: 10 * time.Second}
}

// RelayOption tunes NewRelay.
type RelayOption func(*relayOptions)

type relayOptions struct{ meters metric.MeterProvider }

// WithMeterProvider sends the relay's metrics to mp.
func WithMeterProvider(mp metric.MeterProvider) RelayOption {
	return func(o *relayOptions) { o.meters = mp }
}

// relayBatch bounds the events one relay transaction publishes.
const relayBatch = 200

// Run publishes until ctx ends.
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

// PublishBatch publishes up to limit outbox rows, oldest first, and returns how many
// it handled: published, or parked in outbox_dead_letters because the broker refuses
// them for good (see refusal). A transient failure (NATS unreachable, no
// acknowledgement in time) parks nothing: every event JetStream did not acknowledge
// stays in the outbox and is tried again, oldest first, and the failure is returned.
func (r *Relay) PublishBatch(ctx context.Context, limit int) (int, error) {
	handled := 0
	var transient error
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, subject, event_type, tenant_id, payload, trace, created_at
			FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		var batch []outboxRow
		for rows.Next() {
			var x outboxRow
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
		var published, parked []uuid.UUID
		var reasons []string
		park := func(id uuid.UUID, reason error) {
			parked = append(parked, id)
			reasons = append(reasons, reason.Error())
		}
		type sent struct {
			id     uuid.UUID
			future jetstream.PubAckFuture
		}
		futures := make([]sent, 0, len(batch))
		maxPayload := r.js.Conn().MaxPayload()
		for _, x := range batch {
			msg := x.message()
			// The broker drops the connection of a client that sends more than its
			// max_payload; refuse such an event here, where it costs only itself.
			if size := int64(msg.Size() - len(msg.Subject)); maxPayload > 0 && size > maxPayload {
				park(x.id, fmt.Errorf("%w: the event is %d bytes with its headers; the broker accepts at most %d", nats.ErrMaxPayload, size, maxPayload))
				continue
			}
			f, err := r.js.PublishMsgAsync(msg)
			if refusal(err) {
				park(x.id, err)
				continue
			}
			if err != nil {
				transient = err
				break
			}
			futures = append(futures, sent{id: x.id, future: f})
		}
		timeout := time.NewTimer(r.AckTimeout)
		defer timeout.Stop()
	acks:
		for _, s := range futures {
			select {
			case <-s.future.Ok():
				published = append(published, s.id)
			case err := <-s.future.Err():
				if refusal(err) {
					park(s.id, err)
				} else if transient == nil {
					transient = err
				}
			case <-ctx.Done():
				return ctx.Err()
			case <-timeout.C:
				if transient == nil {
					transient = errors.New("events: timed out waiting for JetStream acknowledgement")
				}
				break acks
			}
		}
		// Published rows go: the stream keeps the events and audit_log the record.
		b := &pgx.Batch{}
		if len(published) > 0 {
			b.Queue(`DELETE FROM outbox WHERE id = ANY($1)`, published)
		}
		if len(parked) > 0 {
			b.Queue(`WITH refused AS (DELETE FROM outbox WHERE id = ANY($1) RETURNING *)
				INSERT INTO outbox_dead_letters (id, subject, event_type, tenant_id, payload, trace, created_at, attempts, error)
				SELECT o.id, o.subject, o.event_type, o.tenant_id, o.payload, o.trace, o.created_at, o.attempts + 1, e.error
				FROM refused o JOIN unnest($1::uuid[], $2::text[]) AS e(id, error) ON e.id = o.id`, parked, reasons)
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		for i, id := range parked {
			r.log.Error("event refused by the broker; parked in outbox_dead_letters", "event_id", id, "err", reasons[i])
		}
		if len(parked) > 0 {
			r.parked.Add(ctx, int64(len(parked)), metric.WithAttributes(attribute.String("service", r.schema)))
		}
		handled = len(published) + len(parked)
		return nil
	})
	if err != nil {
		return handled, err
	}
	return handled, transient
}

type outboxRow struct {
	id                     uuid.UUID
	subject, typ, tenantID string
	payload                []byte
	trace                  map[string]string
	created                time.Time
}

func (x outboxRow) message() *nats.Msg {
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
	return msg
}

// refusal says whether the broker refused an event for a reason that lies in the
// event itself, so that publishing it again cannot succeed: it is too large for the
// connection or the stream, or its subject is invalid. Everything else (no
// connection, no stream, no answer in time) may pass and is retried.
func refusal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) || errors.Is(err, nats.ErrBadHeaderMsg) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
