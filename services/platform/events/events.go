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
// payload's full protobuf name is its type. Returns the event ID.
func Write(ctx context.Context, tx pgx.Tx, subject, tenantID string, payload proto.Message) (uuid.UUID, error) {
	body, err := proto.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: marshal %s: %w", subject, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	id := uuid.Must(uuid.NewV7())
	_, err = tx.Exec(ctx, `INSERT INTO outbox (id, subject, event_type, tenant_id, payload, trace) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, subject, string(payload.ProtoReflect().Descriptor().FullName()), tenantID, body, map[string]string(carrier))
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: write outbox: %w", err)
	}
	if err := audit(ctx, tx, id, subject, tenantID, payload); err != nil {
		return uuid.Nil, err
	}
	// Wakes the relay at commit time instead of waiting for its next poll.
	if _, err := tx.Exec(ctx, `SELECT pg_notify('tessera_outbox', current_schema())`); err != nil {
		return uuid.Nil, fmt.Errorf("events: notify: %w", err)
	}
	return id, nil
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

// audit records who caused the event, in the same transaction (SPEC PLT-4).
func audit(ctx context.Context, tx pgx.Tx, id uuid.UUID, subject, tenantID string, payload proto.Message) error {
	body, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(payload)
	if err != nil {
		return err
	}
	p, _ := authz.FromContext(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (id, tenant_id, actor_user_id, actor_service, token_id, impersonated, impersonator_id, subject, event_type, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, tenantID, p.GetUserId(), p.GetService(), p.GetTokenId(), p.GetImpersonated(), p.GetImpersonatorId(),
		subject, string(payload.ProtoReflect().Descriptor().FullName()), body)
	if err != nil {
		return fmt.Errorf("events: write audit: %w", err)
	}
	return nil
}
