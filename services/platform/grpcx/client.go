package grpcx

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// DefaultTimeout bounds calls made without a deadline of their own.
const DefaultTimeout = 15 * time.Second

// Dial returns a client connection to a neighbour service. Every call gets a default
// deadline, carries the trace context, and presents a service principal minted by
// signer for the tenant of the request being served. tel, the calling service's
// providers, makes the client spans and metrics.
func Dial(target, service string, signer *authz.Signer, tel telemetry.Providers) (*grpc.ClientConn, error) {
	sp := &servicePrincipal{signer: signer, service: service, cache: map[string]signedPrincipal{}}
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(tel.GRPC()...)),
		grpc.WithChainUnaryInterceptor(deadline, sp.unary),
		grpc.WithChainStreamInterceptor(sp.stream),
	)
}

func deadline(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// servicePrincipal signs the principal a service presents to its neighbours. Signed
// principals are reused for half their lifetime: signing on every call would cost
// more CPU than the call itself.
type servicePrincipal struct {
	signer  *authz.Signer
	service string

	mu    sync.Mutex
	cache map[string]signedPrincipal
}

type signedPrincipal struct {
	value   string
	refresh time.Time
}

func (s *servicePrincipal) attach(ctx context.Context) (context.Context, error) {
	caller, ok := authz.FromContext(ctx)
	if !ok || caller.GetTenantId() == "" {
		return ctx, errs.Unauthenticated("NO_TENANT", "a service call needs the tenant of the request it serves")
	}
	key := caller.GetTenantId() + "\x00" + caller.GetUserId()
	now := time.Now()
	s.mu.Lock()
	cached, ok := s.cache[key]
	s.mu.Unlock()
	if ok && now.Before(cached.refresh) {
		return authz.Outgoing(ctx, cached.value), nil
	}
	signed, err := s.signer.Sign(&commonpb.Principal{
		Kind:        commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE,
		TenantId:    caller.GetTenantId(),
		UserId:      caller.GetUserId(), // on whose behalf, for the audit trail
		Service:     s.service,
		TenantWide:  true,
		Permissions: permissionStrings(authz.ServicePermissions),
	})
	if err != nil {
		return ctx, err
	}
	s.mu.Lock()
	if len(s.cache) >= 10_000 {
		s.cache = map[string]signedPrincipal{}
	}
	s.cache[key] = signedPrincipal{value: signed, refresh: now.Add(authz.PrincipalTTL / 2)}
	s.mu.Unlock()
	return authz.Outgoing(ctx, signed), nil
}

func (s *servicePrincipal) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx, err := s.attach(ctx)
	if err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (s *servicePrincipal) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, err := s.attach(ctx)
	if err != nil {
		return nil, err
	}
	return streamer(ctx, desc, cc, method, opts...)
}

func permissionStrings(ps []authz.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}
