// Package grpcx builds gRPC servers and clients with Tessera's interceptors: panic
// recovery, logging, tracing and metrics, principal verification with per-method
// permissions, and the single error mapping.
package grpcx

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Permissions declares the permission of every RPC a server exposes, by full method
// name ("/tessera.license.v1.LicenseService/ActivateLineItem").
type Permissions map[string]authz.Permission

// ServerOptions configures NewServer.
type ServerOptions struct {
	Name        string // service name for logs
	Verifier    *authz.Verifier
	Permissions Permissions
	Logger      *slog.Logger
	// Telemetry makes the server's RPC spans and metrics, under the service's own
	// service.name; zero uses the global providers.
	Telemetry telemetry.Providers
}

// Server is a gRPC server with health and reflection registered.
type Server struct {
	*grpc.Server
	Health *health.Server
}

// NewServer returns a gRPC server whose every RPC passes through the interceptors.
func NewServer(o ServerOptions) *Server {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("service", o.Name)
	g := &guard{verifier: o.Verifier, perms: o.Permissions, log: log}
	// Order: recovery outermost; one error mapping for everything inside; the guard
	// before the call log, so the log line names the verified principal.
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler(o.Telemetry.GRPC()...)),
		grpc.ChainUnaryInterceptor(unaryRecover(log), unaryErrors, g.unary, unaryLog(log)),
		grpc.ChainStreamInterceptor(streamRecover(log), streamErrors, g.stream, streamLog(log)),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{Server: srv, Health: hs}
}

// openMethods need no declared permission: infrastructure every client may use.
func openMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

type guard struct {
	verifier *authz.Verifier
	perms    Permissions
	log      *slog.Logger
}

// authorize verifies the principal and the method's permission. It fails closed: an
// RPC missing from the permission table is refused.
func (g *guard) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	if openMethod(fullMethod) {
		return ctx, nil
	}
	perm, declared := g.perms[fullMethod]
	if !declared {
		return ctx, errs.PermissionDenied("undeclared:" + fullMethod)
	}
	p, err := g.principal(ctx)
	if err != nil {
		if perm == authz.Public {
			return ctx, nil
		}
		return ctx, err
	}
	ctx = authz.WithPrincipal(ctx, p)
	if perm == authz.Public {
		return ctx, nil
	}
	if p.GetTenantId() == "" && !authz.Tenantless(perm) {
		return ctx, errs.Unauthenticated("PRINCIPAL_INVALID", "the principal names no tenant")
	}
	if !authz.Has(p, perm) || (authz.ProducerOnly(perm) && !p.GetTenantWide()) {
		return ctx, errs.PermissionDenied(string(perm))
	}
	return ctx, nil
}

func (g *guard) principal(ctx context.Context) (*commonpb.Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(authz.MetadataKey)
	if len(vals) == 0 {
		return nil, errs.Unauthenticated("UNAUTHENTICATED", "no credentials were presented")
	}
	if g.verifier == nil {
		return nil, errs.Unauthenticated("UNAUTHENTICATED", "the server cannot verify principals")
	}
	p, err := g.verifier.Verify(vals[0])
	if err != nil {
		return nil, errs.Unauthenticated("PRINCIPAL_INVALID", "the presented principal is invalid or expired")
	}
	return p, nil
}

func (g *guard) refused(ctx context.Context, method string, err error) {
	e, _ := errs.As(err)
	g.log.InfoContext(ctx, "rpc refused", "method", method, "reason", e.Reason, "message", e.Message)
}

func (g *guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := g.authorize(ctx, info.FullMethod)
	if err != nil {
		g.refused(ctx, info.FullMethod, err)
		return nil, err
	}
	return handler(ctx, req)
}

func (g *guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := g.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		g.refused(ctx, info.FullMethod, err)
		return err
	}
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

func unaryErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, errs.ToStatus(ctx, err).Err()
	}
	return resp, nil
}

func streamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := handler(srv, ss); err != nil {
		return errs.ToStatus(ss.Context(), err).Err()
	}
	return nil
}

func unaryRecover(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func streamRecover(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

func unaryLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func streamLog(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	code := errs.Code(err)
	level := slog.LevelDebug
	if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
		level = slog.LevelError
	}
	attrs := []any{"method", method, "code", code.String(), "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if p, ok := authz.FromContext(ctx); ok {
		attrs = append(attrs, "tenant", p.GetTenantId(), "user", p.GetUserId(), "token", p.GetTokenId())
		if p.GetImpersonated() {
			// Actions under an impersonated token are logged as such (SPEC ACC-17).
			attrs = append(attrs, "impersonated", true, "impersonator", p.GetImpersonatorId())
			level = max(level, slog.LevelInfo)
		}
	}
	log.Log(ctx, level, "rpc", attrs...)
}
