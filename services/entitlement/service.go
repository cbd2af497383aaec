// Package entitlement is the entitlement service: catalog, order ingestion,
// entitlements and line items, and exact seat counts (SPEC section 2).
package entitlement

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/entitlement/internal/grpcapi"
	"github.com/tessera-dev/tessera/services/entitlement/internal/orderbus"
	"github.com/tessera-dev/tessera/services/entitlement/internal/store"
	"github.com/tessera-dev/tessera/services/entitlement/migrations"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/neighbours"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Name is the service's name, schema and event subject segment.
const Name = "entitlement"

// Migrations are the schema's migration sets.
func Migrations() []pg.MigrationSet {
	return []pg.MigrationSet{{Name: Name, Files: migrations.Files}, events.Migrations()}
}

// Deps are what the service is built from.
type Deps struct {
	Pool     *pgxpool.Pool // search path: the entitlement schema
	JS       jetstream.JetStream
	Accounts grpc.ClientConnInterface
	Log      *slog.Logger
	// Telemetry makes the service's spans and metrics (service.name tessera-entitlement).
	Telemetry telemetry.Providers
	// ReservationSweep is how often overdue seat reservations are released.
	ReservationSweep time.Duration
}

// Service is a ready entitlement service.
type Service struct {
	deps     Deps
	app      *app.App
	api      *grpcapi.Server
	relay    *events.Relay
	accounts neighbours.Accounts
}

// New builds the service.
func New(d Deps) *Service {
	accounts := neighbours.Accounts{Client: accountpb.NewAccountServiceClient(d.Accounts)}
	if d.ReservationSweep == 0 {
		d.ReservationSweep = 30 * time.Second
	}
	a := app.New(store.New(d.Pool), accounts, d.Telemetry.MeterProvider())
	return &Service{deps: d, app: a, api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log), accounts: accounts}
}

// tenants tells whether a tenant exists: every tenant has its producer home account.
type tenants struct{ accounts neighbours.Accounts }

func (t tenants) TenantExists(ctx context.Context, _ string) (bool, error) {
	return t.accounts.AccountExists(ctx, "HOME")
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) {
	entitlementpb.RegisterAuditServiceServer(srv, s.api)
	entitlementpb.RegisterCatalogServiceServer(srv, s.api)
	entitlementpb.RegisterEntitlementServiceServer(srv, s.api)
}

// Run does the background work until ctx ends: the outbox relay, the order bus and
// the reservation reconciler.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return orderbus.Run(ctx, s.deps.JS, s.api, tenants{s.accounts}, s.deps.Log) })
	g.Go(func() error { return s.app.RunReservationReconciler(ctx, s.deps.ReservationSweep, s.deps.Log) })
	return g.Wait()
}
