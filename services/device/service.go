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
}

// Service is a ready device service.
type Service struct {
	api    *grpcapi.Server
	relay  *events.Relay
	ledger *seats.Ledger
}

// New builds the service.
func New(d Deps) *Service {
	ledger := seats.NewLedger(d.Pool, seats.Client{Ent: entitlementpb.NewEntitlementServiceClient(d.Entitlement)}, Name, d.Log)
	accounts := accountpb.NewAccountServiceClient(d.Accounts)
	names := neighbours.Accounts{Client: accounts}
	catalog := clients.NewCatalog(entitlementpb.NewEntitlementServiceClient(d.Entitlement), entitlementpb.NewCatalogServiceClient(d.Entitlement))
	a := app.New(app.Deps{
		Store:    store.New(d.Pool),
		Accounts: names,
		Seats:    ledger,
		Rules:    clients.NewHostRules(licensepb.NewLicenseServiceClient(d.License)),
		Names:    names,
		Catalog:  catalog,
		Products: catalog,
		Users:    clients.Users{Accounts: accounts},
	})
	return &Service{api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log), ledger: ledger}
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) {
	devicepb.RegisterDeviceServiceServer(srv, s.api)
	devicepb.RegisterAuditServiceServer(srv, s.api.Audit())
}

// Run runs the outbox relay and the seat reconciler until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.ledger.Run(ctx, 10*time.Second) })
	g.Go(func() error { return s.ledger.RunConfirmer(ctx) })
	return g.Wait()
}
