// Package gateway is Tessera's REST edge: it authenticates callers (password
// sessions, rna_ bearer tokens, the operator token), signs their principal for the
// services, and maps REST/JSON to gRPC with grpc-gateway.
package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tessera-dev/tessera/gen/openapi"
	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// Targets are the gRPC addresses of the services.
type Targets struct {
	Account, Entitlement, License, Device, Download string
}

// Config configures the gateway.
type Config struct {
	Targets Targets
	// OperatorToken, when set, authenticates platform operators (tenant creation).
	OperatorToken string
}

// Gateway is the REST edge's HTTP handler.
type Gateway struct {
	cfg     Config
	signer  *authz.Signer
	log     *slog.Logger
	conns   map[string]*grpc.ClientConn
	auth    accountpb.AuthServiceClient
	dl      downloadpb.DownloadServiceClient
	handler http.Handler
}

// New dials the services and builds the HTTP routes. metrics serves /metrics.
func New(ctx context.Context, cfg Config, signer *authz.Signer, metrics http.Handler, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{cfg: cfg, signer: signer, log: log, conns: map[string]*grpc.ClientConn{}}
	targets := map[string]string{
		"account": cfg.Targets.Account, "entitlement": cfg.Targets.Entitlement, "license": cfg.Targets.License,
		"device": cfg.Targets.Device, "download": cfg.Targets.Download,
	}
	for name, target := range targets {
		if target == "" {
			return nil, fmt.Errorf("gateway: no address for the %s service", name)
		}
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
		if err != nil {
			return nil, err
		}
		g.conns[name] = conn
	}
	g.auth = accountpb.NewAuthServiceClient(g.conns["account"])
	g.dl = downloadpb.NewDownloadServiceClient(g.conns["download"])

	mux := runtime.NewServeMux(
		runtime.WithErrorHandler(errorHandler),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			if signed, ok := ctx.Value(signedKey{}).(string); ok {
				return metadata.Pairs(authz.MetadataKey, signed)
			}
			return nil
		}),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
	)
	regs := []struct {
		reg  func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
		conn string
	}{
		{accountpb.RegisterAccountServiceHandler, "account"},
		{accountpb.RegisterAuthServiceHandler, "account"},
		{accountpb.RegisterAccessTokenServiceHandler, "account"},
		{entitlementpb.RegisterCatalogServiceHandler, "entitlement"},
		{entitlementpb.RegisterEntitlementServiceHandler, "entitlement"},
		{licensepb.RegisterLicenseServiceHandler, "license"},
		{devicepb.RegisterDeviceServiceHandler, "device"},
		{downloadpb.RegisterDownloadServiceHandler, "download"},
	}
	for _, r := range regs {
		if err := r.reg(ctx, mux, g.conns[r.conn]); err != nil {
			return nil, err
		}
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	root.HandleFunc("GET /readyz", g.ready)
	root.Handle("GET /metrics", metrics)
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	api := g.authenticate(mux)
	root.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ":download") {
			g.authenticate(http.HandlerFunc(g.download)).ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	g.handler = otelhttp.NewHandler(accessLog(log, root), "gateway",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Close closes the service connections.
func (g *Gateway) Close() error {
	var errs []error
	for _, c := range g.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// ready reports whether every service answers its health check.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for name, conn := range g.conns {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, name+" service is not ready", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

type signedKey struct{}

// authenticate resolves the caller's credentials to a signed principal carried in
// the request context. Requests without credentials pass unauthenticated: the
// services refuse them unless the RPC is public (login).
func (g *Gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeStatus(w, status.New(codes.Unauthenticated, "the Authorization header must be 'Bearer <token>'"))
			return
		}
		p, err := g.principal(r.Context(), strings.TrimSpace(token))
		if err != nil {
			writeStatus(w, status.Convert(err))
			return
		}
		signed, err := g.signer.Sign(p)
		if err != nil {
			writeStatus(w, status.New(codes.Internal, "internal error"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), signedKey{}, signed)))
	})
}

func (g *Gateway) principal(ctx context.Context, token string) (*commonpb.Principal, error) {
	if g.cfg.OperatorToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(g.cfg.OperatorToken)) == 1 {
		return &commonpb.Principal{
			Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_OPERATOR, Username: "operator",
			Permissions: []string{string(authz.TenantsCreate)},
		}, nil
	}
	self, err := g.signer.Sign(&commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, Service: "gateway",
		Permissions: []string{string(authz.TokensResolve)},
	})
	if err != nil {
		return nil, err
	}
	resp, err := g.auth.Authenticate(authz.Outgoing(ctx, self), &accountpb.AuthenticateRequest{AccessToken: token})
	if err != nil {
		return nil, err
	}
	return resp.GetPrincipal(), nil
}
