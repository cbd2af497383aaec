// Package license is the license service: activation of line items into signed
// license files, signing keys, and the seat claims it holds (SPEC section 3).
package license

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
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/license/internal/clients"
	"github.com/tessera-dev/tessera/services/license/internal/grpcapi"
	"github.com/tessera-dev/tessera/services/license/internal/keys"
	"github.com/tessera-dev/tessera/services/license/internal/store"
	"github.com/tessera-dev/tessera/services/license/migrations"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/neighbours"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Name is the service's name, schema and event subject segment.
const Name = "license"

// Migrations are the schema's migration sets; seat claims come first, since
// fulfillments refer to them.
func Migrations() []pg.MigrationSet {
	return []pg.MigrationSet{seats.Migrations(), {Name: Name, Files: migrations.Files}, events.Migrations()}
}

// Deps are what the service is built from.
type Deps struct {
	Pool        *pgxpool.Pool // search path: the license schema
	JS          jetstream.JetStream
	Entitlement grpc.ClientConnInterface
	// Accounts is asked whether an account exists (an empty host list of an unknown
	// account is a 404).
	Accounts grpc.ClientConnInterface
	// MasterKey (32 bytes) seals the tenants' signing keys at rest.
	MasterKey []byte
	Log       *slog.Logger
	// Telemetry makes the service's spans and metrics (service.name tessera-license).
	Telemetry telemetry.Providers
}

// Service is a ready license service.
type Service struct {
	app    *app.App
	log    *slog.Logger
	tel    telemetry.Providers
	api    *grpcapi.Server
	relay  *events.Relay
	ledger *seats.Ledger
	js     jetstream.JetStream
	pool   *pgxpool.Pool
}

// New builds the service.
func New(d Deps) (*Service, error) {
	sealer, err := keys.NewLocal(d.MasterKey)
	if err != nil {
		return nil, err
	}
	entClient := entitlementpb.NewEntitlementServiceClient(d.Entitlement)
	ledger := seats.NewLedger(d.Pool, seats.Client{Ent: entClient}, Name, d.Log)
	a := app.New(store.New(d.Pool, sealer),
		clients.NewEntitlements(entClient, entitlementpb.NewCatalogServiceClient(d.Entitlement)), ledger,
		neighbours.Accounts{Client: accountpb.NewAccountServiceClient(d.Accounts)}, d.Telemetry.MeterProvider())
	return &Service{
		app: a, log: d.Log, api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log), ledger: ledger,
		js: d.JS, pool: d.Pool, tel: d.Telemetry,
	}, nil
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) { licensepb.RegisterLicenseServiceServer(srv, s.api) }

// Run runs the outbox relay, the seat reconciler, the batching seat confirmer, the
// group committer, the job worker and the re-issue of retired consolidated licenses
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return events.Consume(ctx, s.js, s.pool, events.ConsumerConfig{
			Name: "license-consolidated-reissue", Subjects: []string{events.Subject("license", "consolidated_license", "retired")},
			Effect: events.Typed(s.app.ReissueConsolidated),
			Tracer: s.tel.TracerProvider(),
		}, s.log)
	})
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.ledger.Run(ctx, 10*time.Second) })
	g.Go(func() error { return s.ledger.RunConfirmer(ctx) })
	g.Go(func() error { return s.app.RunCommitter(ctx) })
	g.Go(func() error { return s.app.RunJobs(ctx, 2*time.Second, s.log) })
	return g.Wait()
}
