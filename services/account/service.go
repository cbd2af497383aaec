// Package account is the account service: tenants, accounts, users, sign-in and
// bearer tokens, and the notifier that emails what other services announce.
package account

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/account/internal/clients"
	"github.com/tessera-dev/tessera/services/account/internal/grpcapi"
	"github.com/tessera-dev/tessera/services/account/internal/store"
	"github.com/tessera-dev/tessera/services/account/migrations"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Name is the service's name, schema and event subject segment.
const Name = "account"

// Migrations are the schema's migration sets.
func Migrations() []pg.MigrationSet {
	return []pg.MigrationSet{{Name: Name, Files: migrations.Files}, events.Migrations()}
}

// Config tunes the account service (password hashing cost, session lifetime).
type Config = app.Config

// PasswordParams are the argon2id costs of password hashes.
type PasswordParams = app.PasswordParams

// Deps are what the service is built from.
type Deps struct {
	Pool *pgxpool.Pool // search path: the account schema
	JS   jetstream.JetStream
	// Entitlement and Device are asked what an account holds before it is deleted.
	Entitlement, Device grpc.ClientConnInterface
	Mailer              app.Mailer
	Log                 *slog.Logger
	Config              Config
	// Telemetry makes the service's spans and metrics (service.name tessera-account).
	Telemetry telemetry.Providers
}

// Service is a ready account service.
type Service struct {
	deps  Deps
	app   *app.App
	api   *grpcapi.Server
	relay *events.Relay
}

// New builds the service.
func New(d Deps) *Service {
	ent := entitlementpb.NewEntitlementServiceClient(d.Entitlement)
	holdings := clients.Holdings{Ent: ent, Dev: devicepb.NewDeviceServiceClient(d.Device)}
	catalog := entitlementpb.NewCatalogServiceClient(d.Entitlement)
	a := app.New(store.New(d.Pool), d.Mailer, app.Neighbours{
		Holdings: holdings, Keys: clients.EntitlementKeys{Ent: ent},
		Plans: clients.ServicePlans{Catalog: catalog, Ent: ent}, Lines: clients.ProductLines{Catalog: catalog},
		Expiring: clients.Expiring{Ent: ent},
	}, d.Config)
	return &Service{deps: d, app: a, api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log)}
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) {
	accountpb.RegisterAccountServiceServer(srv, s.api)
	accountpb.RegisterAuthServiceServer(srv, s.api)
	accountpb.RegisterAccessTokenServiceServer(srv, s.api)
	accountpb.RegisterAuditServiceServer(srv, s.api)
	accountpb.RegisterRegistrationServiceServer(srv, s.api)
	accountpb.RegisterOrganizationServiceServer(srv, s.api)
}

// Run runs the outbox relay and the notifier until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.app.RunScheduledEmails(ctx, s.deps.Config.EmailPoll, s.deps.Log) })
	for _, c := range []events.ConsumerConfig{
		{
			Name: "account-notifier-users", Subjects: []string{events.Subject("account", "user", "reactivated")},
			Effect: events.Typed(s.app.SendReactivationEmail),
		},
		{
			Name: "account-notifier-edelivery", Subjects: []string{events.Subject("entitlement", "entitlement", "created")},
			Effect: events.Typed(s.app.SendEDeliveryEmail),
		},
		{
			Name: "account-notifier-line-items", Subjects: []string{events.Subject("entitlement", "line_item", "emailed")},
			Effect: events.Typed(s.app.SendLineItemEmail),
		},
		{
			Name: "account-notifier-fulfillment-emails", Subjects: []string{events.Subject("license", "fulfillment", "emailed")},
			Effect: events.Typed(s.app.SendFulfillmentEmail),
		},
		{
			Name: "account-notifier-transfers", Subjects: []string{events.Subject("entitlement", "line_item", "transferred")},
			Effect: events.Typed(s.app.SendTransferEmail),
		},
		{
			Name: "account-notifier-splits", Subjects: []string{events.Subject("entitlement", "line_item", "split")},
			Effect: events.Typed(s.app.SendSplitEmail),
		},
		{
			Name: "account-notifier-renewals", Subjects: []string{events.Subject("entitlement", "renewal", "requested")},
			Effect: events.Typed(s.app.SendRenewalRequest),
		},
		{
			Name: "account-notifier-trials", Subjects: []string{events.Subject("entitlement", "trial", "registered")},
			Effect: events.Typed(s.app.SendTrialEmail),
		},
		{
			Name: "account-notifier-license", Subjects: []string{events.Subject("license", "fulfillment", "created")},
			Effect: events.Typed(s.app.SendLicenseEmail),
		},
	} {
		c.Tracer = s.deps.Telemetry.TracerProvider()
		g.Go(func() error { return events.Consume(ctx, s.deps.JS, s.deps.Pool, c, s.deps.Log) })
	}
	return g.Wait()
}
