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
	var o Outbox
	id, err := o.Add(ctx, subject, tenantID, payload)
	if err != nil {
		return uuid.Nil, err
	}
	b := &pgx.Batch{}
	o.Queue(b)
	QueueNotify(b)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return uuid.Nil, fmt.Errorf("events: write %s: %w", subject, err)
	}
	return id, nil
}

// Outbox collects the events of one transaction: their outbox rows and audit
// records (SPEC PLT-4) are written with one statement per table, however many
// events there are.
type Outbox struct {
	ids                                []uuid.UUID
	subjects, types, tenants           []string
	payloads                           [][]byte
	traces                             []map[string]string
	users, services, tokens, overseers []string
	impersonated                       []bool
	records                            [][]byte
}

// Add collects an event; ctx names who caused it. The payload's full protobuf name
// is its type. Returns the event ID.
func (o *Outbox) Add(ctx context.Context, subject, tenantID string, payload proto.Message) (uuid.UUID, error) {
	body, err := proto.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: marshal %s: %w", subject, err)
	}
	record, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("events: marshal %s: %w", subject, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	id := uuid.Must(uuid.NewV7())
	p, _ := authz.FromContext(ctx)
	o.ids = append(o.ids, id)
	o.subjects = append(o.subjects, subject)
	o.types = append(o.types, string(payload.ProtoReflect().Descriptor().FullName()))
	o.tenants = append(o.tenants, tenantID)
	o.payloads = append(o.payloads, body)
	o.traces = append(o.traces, carrier)
	o.users = append(o.users, p.GetUserId())
	o.services = append(o.services, p.GetService())
	o.tokens = append(o.tokens, p.GetTokenId())
	o.impersonated = append(o.impersonated, p.GetImpersonated())
	o.overseers = append(o.overseers, p.GetImpersonatorId())
	o.records = append(o.records, record)
	return id, nil
}

// Queue adds the collected events to b, for a transaction that sends b. Whoever
// sends b queues QueueNotify once too.
func (o *Outbox) Queue(b *pgx.Batch) {
	if len(o.ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO outbox (id, subject, event_type, tenant_id, payload, trace)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::jsonb[])`,
		o.ids, o.subjects, o.types, o.tenants, o.payloads, o.traces)
	b.Queue(`INSERT INTO audit_log (id, tenant_id, actor_user_id, actor_service, token_id, impersonated, impersonator_id, subject, event_type, payload)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::text[], $10::jsonb[])`,
		o.ids, o.tenants, o.users, o.services, o.tokens, o.impersonated, o.overseers, o.subjects, o.types, o.records)
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
