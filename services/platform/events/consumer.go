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
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Handler applies one event inside the transaction that also records it as processed.
type Handler func(ctx context.Context, tx pgx.Tx, ev Envelope) error

// ConsumerConfig describes a durable consumer.
type ConsumerConfig struct {
	// Name is the durable name and the inbox key; keep it stable.
	Name     string
	Subjects []string
	Handler  Handler
	// MaxDeliver bounds redeliveries of an event whose handler keeps failing.
	MaxDeliver int
}

// Consume runs a durable, explicitly acknowledged consumer until ctx ends. Each event
// is applied at most once: the handler runs in a transaction that first inserts the
// event ID into processed_events, so a redelivered event is acknowledged and skipped.
func Consume(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, cfg ConsumerConfig, log *slog.Logger) error {
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = 20
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
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", cfg.Name, err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	log = log.With("consumer", cfg.Name)
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			log.Warn("consumer receive failed", "err", err)
			continue
		}
		if err := handleMessage(ctx, pool, cfg, msg); err != nil {
			delivered := uint64(1)
			if md, mdErr := msg.Metadata(); mdErr == nil {
				delivered = md.NumDelivered
			}
			log.Warn("event handler failed; will redeliver", "subject", msg.Subject(), "delivery", delivered, "err", err)
			_ = msg.NakWithDelay(backoff(delivered))
			continue
		}
		_ = msg.Ack()
	}
}

func handleMessage(ctx context.Context, pool *pgxpool.Pool, cfg ConsumerConfig, msg jetstream.Msg) error {
	h := msg.Headers()
	id, err := uuid.Parse(h.Get(HeaderEventID))
	if err != nil {
		return nil // not a Tessera event: nothing to apply, acknowledge it
	}
	ev := Envelope{ID: id, Type: h.Get(HeaderEventType), Subject: msg.Subject(), TenantID: h.Get(HeaderTenant), Payload: msg.Data()}
	ev.Time, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderTime))
	ctx, span := tracer.Start(traceContext(ctx, http.Header(h)), "consume "+ev.Subject,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", ev.Subject),
			attribute.String("messaging.message.id", ev.ID.String()), attribute.String("tessera.consumer", cfg.Name)))
	defer span.End()
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cfg.Name, ev.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // applied before
		}
		return cfg.Handler(ctx, tx, ev)
	})
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "handler failed")
	}
	return err
}

var tracer = otel.Tracer("github.com/tessera-dev/tessera/services/platform/events")

func backoff(delivered uint64) time.Duration {
	d := time.Duration(delivered) * time.Duration(delivered) * 200 * time.Millisecond
	return min(d, time.Minute)
}

// Typed adapts a handler of one payload type. A payload that does not decode is
// acknowledged and skipped: redelivering it cannot help.
func Typed[T any, PT interface {
	*T
	proto.Message
}](fn func(ctx context.Context, tenantID string, msg PT) error) Handler {
	return func(ctx context.Context, _ pgx.Tx, ev Envelope) error {
		msg := PT(new(T))
		if err := proto.Unmarshal(ev.Payload, msg); err != nil {
			return nil
		}
		return fn(ctx, ev.TenantID, msg)
	}
}
