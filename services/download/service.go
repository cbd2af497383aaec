// Package download is the download service: packages of files linked to products,
// served from blob storage to entitled users (SPEC section 5).
package download

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/download/internal/app"
	"github.com/tessera-dev/tessera/services/download/internal/clients"
	"github.com/tessera-dev/tessera/services/download/internal/grpcapi"
	"github.com/tessera-dev/tessera/services/download/internal/store"
	"github.com/tessera-dev/tessera/services/download/migrations"
	"github.com/tessera-dev/tessera/services/platform/blob"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// Name is the service's name, schema and event subject segment.
const Name = "download"

// Migrations are the schema's migration sets.
func Migrations() []pg.MigrationSet {
	return []pg.MigrationSet{{Name: Name, Files: migrations.Files}, events.Migrations()}
}

// Deps are what the service is built from.
type Deps struct {
	Pool        *pgxpool.Pool // search path: the download schema
	JS          jetstream.JetStream
	Entitlement grpc.ClientConnInterface
	Blobs       blob.Store
	Log         *slog.Logger
}

// Service is a ready download service.
type Service struct {
	api   *grpcapi.Server
	relay *events.Relay
}

// New builds the service.
func New(d Deps) *Service {
	ent := clients.Entitlements{
		Ent:     entitlementpb.NewEntitlementServiceClient(d.Entitlement),
		Catalog: entitlementpb.NewCatalogServiceClient(d.Entitlement),
	}
	a := app.New(store.New(d.Pool), d.Blobs, ent)
	return &Service{api: grpcapi.New(a), relay: events.NewRelay(d.Pool, Name, d.JS, d.Log)}
}

// Permissions declares every RPC's permission, by full method name.
func Permissions() grpcx.Permissions { return grpcapi.Permissions }

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv *grpc.Server) { downloadpb.RegisterDownloadServiceServer(srv, s.api) }

// Run runs the outbox relay until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.relay.Run(ctx) }
