package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Handler applies one event inside the transaction that also records it as processed.
type Handler func(ctx context.Context, tx pgx.Tx, ev Envelope) error

// Effect acts on one event outside the database (sends mail, calls a service); the
// transaction that records the event as processed commits after it succeeds.
type Effect func(ctx context.Context, ev Envelope) error

// ConsumerConfig describes a durable consumer; give it a Handler or an Effect.
type ConsumerConfig struct {
	// Name is the durable name and the inbox key; keep it stable.
	Name     string
	Subjects []string
	Handler  Handler
	Effect   Effect
	// MaxDeliver bounds redeliveries of an event whose handler keeps failing.
	MaxDeliver int
	// Tracer makes the consume spans, as the consuming service (its service.name);
	// nil uses the global provider.
	Tracer trace.TracerProvider
}

// maxConsumeBatch bounds the events recorded in one transaction.
const maxConsumeBatch = 100

// Consume runs a durable, explicitly acknowledged consumer until ctx ends. Each event
// is applied at most once: it is applied in a transaction that first inserts the
// event ID into processed_events, so a redelivered event is acknowledged and skipped.
// Events that arrive together share that transaction (each Handler under its own
// savepoint), so a busy stream costs one commit per batch, not per event.
func Consume(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, cfg ConsumerConfig, log *slog.Logger) error {
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = 20
	}
	if (cfg.Handler == nil) == (cfg.Effect == nil) {
		return fmt.Errorf("events: consumer %s: give a Handler or an Effect", cfg.Name)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		FilterSubjects: cfg.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     cfg.MaxDeliver,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", cfg.Name, err)
	}
	log = log.With("consumer", cfg.Name)
	inbox := make(chan jetstream.Msg, maxConsumeBatch)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case inbox <- m:
		case <-ctx.Done(): // not acknowledged: redelivered to the next run
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("consumer receive failed", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", cfg.Name, err)
	}
	defer cc.Stop()
	for {
		var batch []jetstream.Msg
		select {
		case <-ctx.Done():
			return nil
		case m := <-inbox:
			batch = append(batch, m)
		}
	fill:
		for len(batch) < maxConsumeBatch {
			select {
			case m := <-inbox:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		handleBatch(ctx, pool, cfg, batch, log)
	}
}

// batchMemo holds the reads the events of one batch share (see Shared).
type batchMemo struct {
	mu     sync.Mutex
	values map[string]memoized
}

type memoized struct {
	value any
	err   error
}

type batchKey struct{}

// Shared returns read's result, read once for all the events of the batch that ctx
// belongs to: events applied together see the data as of one moment, as they would
// if applied at once. Outside a batch it just reads.
func Shared[V any](ctx context.Context, key string, read func() (V, error)) (V, error) {
	memo, ok := ctx.Value(batchKey{}).(*batchMemo)
	if !ok {
		return read()
	}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	if m, ok := memo.values[key]; ok {
		v, _ := m.value.(V)
		return v, m.err
	}
	v, err := read()
	memo.values[key] = memoized{value: v, err: err}
	return v, err
}

// delivery is one received event with what became of it.
type delivery struct {
	msg  jetstream.Msg
	ev   Envelope
	span trace.Span
	ctx  context.Context
	err  error
}

// handleBatch applies a batch in one transaction and acknowledges each event, or
// asks for its redelivery when its handler failed or the transaction did.
func handleBatch(ctx context.Context, pool *pgxpool.Pool, cfg ConsumerConfig, msgs []jetstream.Msg, log *slog.Logger) {
	var ds []*delivery
	memo := &batchMemo{values: map[string]memoized{}}
	for _, msg := range msgs {
		h := msg.Headers()
		id, err := uuid.Parse(h.Get(HeaderEventID))
		if err != nil {
			_ = msg.Ack() // not a Tessera event: nothing to apply
			continue
		}
		ev := Envelope{ID: id, Type: h.Get(HeaderEventType), Subject: msg.Subject(), TenantID: h.Get(HeaderTenant), Payload: msg.Data()}
		ev.Time, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderTime))
		dctx, span := cfg.tracer().Start(traceContext(ctx, http.Header(h)), "consume "+ev.Subject,
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", ev.Subject),
				attribute.String("messaging.message.id", ev.ID.String()), attribute.String("tessera.consumer", cfg.Name)))
		ds = append(ds, &delivery{msg: msg, ev: ev, span: span, ctx: context.WithValue(dctx, batchKey{}, memo)})
	}
	if len(ds) == 0 {
		return
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return applyBatch(ctx, tx, cfg, ds) }); err != nil {
		for _, d := range ds {
			if d.err == nil {
				d.err = err
			}
		}
	}
	for _, d := range ds {
		if d.err == nil {
			_ = d.msg.Ack()
		} else {
			d.span.RecordError(d.err)
			d.span.SetStatus(codes.Error, "handler failed")
			delivered := uint64(1)
			if md, mdErr := d.msg.Metadata(); mdErr == nil {
				delivered = md.NumDelivered
			}
			log.Warn("event handler failed; will redeliver", "subject", d.msg.Subject(), "delivery", delivered, "err", d.err)
			_ = d.msg.NakWithDelay(backoff(delivered))
		}
		d.span.End()
	}
}

// applyBatch records the batch's events as processed and applies those not applied
// before; a failed event's record is taken back, so that it is applied when it comes
// again. Only a database error fails the whole batch.
func applyBatch(ctx context.Context, tx pgx.Tx, cfg ConsumerConfig, ds []*delivery) error {
	ids := make([]uuid.UUID, len(ds))
	for i, d := range ds {
		ids[i] = d.ev.ID
	}
	rows, err := tx.Query(ctx, `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[])
		ON CONFLICT DO NOTHING RETURNING event_id`, cfg.Name, ids)
	if err != nil {
		return err
	}
	fresh, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	isFresh := map[uuid.UUID]bool{}
	for _, id := range fresh {
		isFresh[id] = true
	}
	var failed []uuid.UUID
	for _, d := range ds {
		if !isFresh[d.ev.ID] {
			continue // applied before, or twice in this batch
		}
		isFresh[d.ev.ID] = false
		if cfg.Effect != nil {
			d.err = cfg.Effect(d.ctx, d.ev)
		} else if d.err, err = applyInSavepoint(d.ctx, tx, cfg.Handler, d.ev); err != nil {
			return err
		}
		if d.err != nil {
			failed = append(failed, d.ev.ID)
		}
	}
	if len(failed) > 0 {
		_, err = tx.Exec(ctx, `DELETE FROM processed_events WHERE consumer = $1 AND event_id = ANY($2)`, cfg.Name, failed)
	}
	return err
}

// applyInSavepoint runs a handler so that its failure (handlerErr) undoes only its
// own writes; txErr says the transaction itself is broken.
func applyInSavepoint(ctx context.Context, tx pgx.Tx, h Handler, ev Envelope) (handlerErr, txErr error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := h(ctx, sp, ev); err != nil {
		return err, sp.Rollback(ctx)
	}
	return nil, sp.Commit(ctx)
}

const tracerName = "github.com/tessera-dev/tessera/services/platform/events"

func (cfg ConsumerConfig) tracer() trace.Tracer {
	if cfg.Tracer != nil {
		return cfg.Tracer.Tracer(tracerName)
	}
	return otel.Tracer(tracerName)
}

func backoff(delivered uint64) time.Duration {
	d := time.Duration(delivered) * time.Duration(delivered) * 200 * time.Millisecond
	return min(d, time.Minute)
}

// Typed adapts an effect on one payload type. A payload that does not decode is
// acknowledged and skipped: redelivering it cannot help.
func Typed[T any, PT interface {
	*T
	proto.Message
}](fn func(ctx context.Context, tenantID string, msg PT) error) Effect {
	return func(ctx context.Context, ev Envelope) error {
		msg := PT(new(T))
		if err := proto.Unmarshal(ev.Payload, msg); err != nil {
			return nil
		}
		return fn(ctx, ev.TenantID, msg)
	}
}
