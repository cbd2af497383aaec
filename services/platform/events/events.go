// Package events carries facts between services: a transactional outbox written in
// the same transaction as the change, a relay that publishes it to JetStream with the
// event ID as Nats-Msg-Id, and durable, idempotent consumers.
package events

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tessera-dev/tessera/services/platform/authz"

	"github.com/tessera-dev/tessera/services/platform/pg"
)

// StreamName is the JetStream stream holding every Tessera event.
const StreamName = "TESSERA"

// Header names carried by every event message.
const (
	HeaderEventID   = "Tessera-Event-Id"
	HeaderEventType = "Tessera-Event-Type"
	HeaderTenant    = "Tessera-Tenant"
	HeaderTime      = "Tessera-Time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the outbox and inbox tables in a service's schema.
func Migrations() pg.MigrationSet {
	return pg.MigrationSet{Name: "events", Files: mustSub(migrationFiles, "migrations")}
}

// Subject builds tessera.<service>.<entity>.<verb>.
func Subject(service, entity, verb string) string {
	return fmt.Sprintf("tessera.%s.%s.%s", service, entity, verb)
}

// Write adds an event to the outbox inside tx; it is published after the commit. The
// payload's full protobuf name is its type. Returns the event ID. Its rows and the
// relay's wake-up go to the database in one round trip.
func Write(ctx context.Context, tx pgx.Tx, subject, tenantID string, payload proto.Message) (uuid.UUID, error) {
	b := &pgx.Batch{}
	id, err := Queue(ctx, b, subject, tenantID, payload)
	if err != nil {
		return uuid.Nil, err
	}
	QueueNotify(b)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return uuid.Nil, fmt.Errorf("events: write %s: %w", subject, err)
	}
	return id, nil
}

// Queue adds an event's outbox row and audit record (SPEC PLT-4) to b, for a
// transaction that sends b; ctx names who caused it. Whoever sends b queues
// QueueNotify once too. Returns the event ID.
func Queue(ctx context.Context, b *pgx.Batch, subject, tenantID string, payload proto.Message) (uuid.UUID, error) {
	body, err := proto.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: marshal %s: %w", subject, err)
	}
	auditBody, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: marshal %s: %w", subject, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	id := uuid.Must(uuid.NewV7())
	eventType := string(payload.ProtoReflect().Descriptor().FullName())
	b.Queue(`INSERT INTO outbox (id, subject, event_type, tenant_id, payload, trace) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, subject, eventType, tenantID, body, map[string]string(carrier))
	p, _ := authz.FromContext(ctx)
	b.Queue(`INSERT INTO audit_log (id, tenant_id, actor_user_id, actor_service, token_id, impersonated, impersonator_id, subject, event_type, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, tenantID, p.GetUserId(), p.GetService(), p.GetTokenId(), p.GetImpersonated(), p.GetImpersonatorId(), subject, eventType, auditBody)
	return id, nil
}

// QueueNotify wakes the relay when the transaction commits, instead of leaving the
// events to its next poll.
func QueueNotify(b *pgx.Batch) {
	b.Queue(`SELECT pg_notify('tessera_outbox', current_schema())`)
}

// Envelope is a received event.
type Envelope struct {
	ID       uuid.UUID
	Type     string
	Subject  string
	TenantID string
	Time     time.Time
	Payload  []byte
}

func traceContext(ctx context.Context, h http.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(h))
}
