// Package device is the device service: devices and servers, and the line-item
// seats mapped to them (SPEC section 4).
package device

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/device/internal/clients"
	"github.com/tessera-dev/tessera/services/device/internal/grpcapi"
	"github.com/tessera-dev/tessera/services/device/internal/store"
	"github.com/tessera-dev/tessera/services/device/migrations"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/neighbours"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/schedule"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Name is the service's name, schema and event subject segment.
const Name = "device"

// Migrations are the schema's migration sets.
func Migrations() []pg.MigrationSet {
	// The outbox and audit trail come before the device set: the device history
	// indexes the audit trail (migrations/003_history.sql).
	return []pg.MigrationSet{seats.Migrations(), events.Migrations(), {Name: Name, Files: migrations.Files}, schedule.Migrations()}
}

// Deps are what the service is built from.
type Deps struct {
	Pool        *pgxpool.Pool // search path: the device schema
	JS          jetstream.JetStream
	Accounts    grpc.ClientConnInterface
	Entitlement grpc.ClientConnInterface
	License     grpc.ClientConnInterface
	Log         *slog.Logger
	// Telemetry makes the service's metrics (service.name tessera-device).
	Telemetry telemetry.Providers
	// Clock drives the daily jobs (tests); nil: the system clock.
	Clock schedule.Clock
}

// Service is a ready device service.
type Service struct {
	app    *app.App
	api    *grpcapi.Server
	relay  *events.Relay
	ledger *seats.Ledger
	jobs   *schedule.Scheduler
}

// New builds the service.
func New(d Deps) *Service {
	ledger := seats.NewLedger(d.Pool, seats.Client{Ent: entitlementpb.NewEntitlementServiceClient(d.Entitlement)}, Name, d.Log)
	// Many devices map and unmap seats of one purchase at once: their reservations
	// and give-back confirmations share entitlement transactions.
	ledger.Share = true
	accounts := accountpb.NewAccountServiceClient(d.Accounts)
	names := neighbours.Accounts{Client: accounts}
	catalog := clients.NewCatalog(entitlementpb.NewEntitlementServiceClient(d.Entitlement), entitlementpb.NewCatalogServiceClient(d.Entitlement))
	a := app.New(app.Deps{
		Store:        store.New(d.Pool),
		Accounts:     names,
		Seats:        ledger,
		Rules:        clients.NewHostRules(licensepb.NewLicenseServiceClient(d.License)),
		Names:        clients.Names{Accounts: names, Hidden: clients.NewHidden(accounts)},
		Catalog:      catalog,
		Products:     catalog,
		Users:        clients.Users{Accounts: accounts},
		Entitlements: clients.NewEntitlements(entitlementpb.NewEntitlementServiceClient(d.Entitlement)),
	})
	meters := d.Telemetry.MeterProvider()
	jobOpts := []schedule.Option{schedule.WithMeterProvider(meters)}
	if d.Clock != nil {
		jobOpts = append(jobOpts, schedule.WithClock(d.Clock))
	}
	return &Service{
		app: a, api: grpcapi.New(a), ledger: ledger,
		relay: events.NewRelay(d.Pool, Name, d.JS, d.Log, events.WithMeterProvider(meters)),
		jobs:  schedule.New(d.Pool, d.Log, jobOpts...),
	}
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) {
	devicepb.RegisterDeviceServiceServer(srv, s.api)
	devicepb.RegisterAuditServiceServer(srv, s.api.Audit())
}

// ExpireOverridesJob is the daily sweep that gives back the seats of mappings whose
// expiry override has passed, at 10:00 UTC (SPEC DEV-7).
const ExpireOverridesJob = "device.expire_overrides"

// Run runs the outbox relay, the seat reconciler and confirmer, and the daily
// override sweep until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.ledger.Run(ctx, 10*time.Second) })
	g.Go(func() error { return s.ledger.RunConfirmer(ctx) })
	g.Go(func() error {
		return s.jobs.Run(ctx, schedule.Daily{Name: ExpireOverridesJob, At: 10 * time.Hour, Run: func(ctx context.Context, now time.Time) error {
			_, err := s.app.ExpireOverrides(ctx, now)
			return err
		}})
	})
	return g.Wait()
}
