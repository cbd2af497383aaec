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
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Name is the service's name, schema and event subject segment.
const Name = "device"

// Migrations are the schema's migration sets.
func Migrations() []pg.MigrationSet {
	return []pg.MigrationSet{seats.Migrations(), {Name: Name, Files: migrations.Files}, events.Migrations()}
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
	a := app.New(app.Deps{
		Store:        store.New(d.Pool),
		Accounts:     neighbours.Accounts{Client: accountpb.NewAccountServiceClient(d.Accounts)},
		Seats:        ledger,
		Rules:        clients.NewHostRules(licensepb.NewLicenseServiceClient(d.License)),
		Entitlements: clients.NewEntitlements(entitlementpb.NewEntitlementServiceClient(d.Entitlement)),
	})
	return &Service{api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log), ledger: ledger}
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) { devicepb.RegisterDeviceServiceServer(srv, s.api) }

// Run runs the outbox relay and the seat reconciler until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.ledger.Run(ctx, 10*time.Second) })
	g.Go(func() error { return s.ledger.RunConfirmer(ctx) })
	return g.Wait()
}
