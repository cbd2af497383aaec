// Package gateway is Tessera's REST edge: it authenticates callers (password
// sessions, rna_ bearer tokens, the operator token), signs their principal for the
// services, and maps REST/JSON to gRPC with grpc-gateway.
package gateway

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
	"github.com/tessera-dev/tessera/services/platform/validate"
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
	// AuthCacheTTL bounds how long a resolved bearer token is trusted without asking
	// the account service again; 0 asks every time.
	AuthCacheTTL time.Duration
	// Events, when set, delivers token revocations to the cache at once.
	Events jetstream.JetStream
	// Login attempts allowed per minute per client IP and per user name (0: no limit).
	LoginPerMinutePerIP, LoginPerMinutePerUser int
	// API requests allowed per second per client IP and per credential (0: no limit).
	RequestsPerSecondPerIP, RequestsPerSecondPerToken int
	// Telemetry makes the gateway's HTTP and client spans and metrics, under its own
	// service.name; zero uses the global providers.
	Telemetry telemetry.Providers
	// MaxBodyBytes bounds a request body (413 beyond; 0: no limit). The gRPC message
	// limit of the gateway's clients is the same.
	MaxBodyBytes int64
	// WriteTimeout is the server's write timeout; downloads extend their write
	// deadline by it for every chunk, so a long download streams on.
	WriteTimeout time.Duration
	// CORSAllowedOrigins are the browser origins allowed to call the API ("*": any);
	// empty turns CORS off.
	CORSAllowedOrigins []string
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
	routes  *routeIndex // the methods each path serves, for 405's Allow
	cache   *authCache
	stop    context.CancelFunc

	loginPerIP, loginPerUser, apiPerIP, apiPerToken *limiter
}

// New dials the services and builds the HTTP routes. /metrics is not among them: it
// is served on the ops listener only (see suite).
func New(ctx context.Context, cfg Config, signer *authz.Signer, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{
		cfg: cfg, signer: signer, log: log, conns: map[string]*grpc.ClientConn{}, cache: newAuthCache(cfg.AuthCacheTTL),
		loginPerIP:   newLimiter(cfg.LoginPerMinutePerIP, time.Minute),
		loginPerUser: newLimiter(cfg.LoginPerMinutePerUser, time.Minute),
		apiPerIP:     newLimiter(cfg.RequestsPerSecondPerIP, time.Second),
		apiPerToken:  newLimiter(cfg.RequestsPerSecondPerToken, time.Second),
	}
	followCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = stop
	if cfg.Events != nil && cfg.AuthCacheTTL > 0 {
		go g.cache.follow(followCtx, cfg.Events, log)
	}
	targets := map[string]string{
		"account": cfg.Targets.Account, "entitlement": cfg.Targets.Entitlement, "license": cfg.Targets.License,
		"device": cfg.Targets.Device, "download": cfg.Targets.Download,
	}
	for name, target := range targets {
		if target == "" {
			return nil, fmt.Errorf("gateway: no address for the %s service", name)
		}
		opts := append([]grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStatsHandler(otelgrpc.NewClientHandler(cfg.Telemetry.GRPC()...)),
			grpcx.WithMaxMessageBytes(int(cfg.MaxBodyBytes)),
		}, grpcx.PropagateRequestID()...)
		conn, err := grpc.NewClient(target, opts...)
		if err != nil {
			return nil, err
		}
		g.conns[name] = conn
	}
	g.auth = accountpb.NewAuthServiceClient(g.conns["account"])
	g.dl = downloadpb.NewDownloadServiceClient(g.conns["download"])

	mux := runtime.NewServeMux(
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		// Services learn who calls from the signed principal alone: no HTTP header,
		// least of all the bearer token, is passed on to them.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			if signed, ok := ctx.Value(signedKey{}).(string); ok {
				return metadata.Pairs(authz.MetadataKey, signed)
			}
			return nil
		}),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler{&runtime.JSONPb{
			// Zero numbers, false and empty lists are answers too ("available": "0"); unset
			// messages stay out.
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
	)
	regs := []struct {
		reg  func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
		conn string
	}{
		{accountpb.RegisterAccountServiceHandler, "account"},
		{accountpb.RegisterAuthServiceHandler, "account"},
		{accountpb.RegisterAccessTokenServiceHandler, "account"},
		{accountpb.RegisterAuditServiceHandler, "account"},
		{accountpb.RegisterRegistrationServiceHandler, "account"},
		{accountpb.RegisterOrganizationServiceHandler, "account"},
		{entitlementpb.RegisterAuditServiceHandler, "entitlement"},
		{entitlementpb.RegisterCatalogServiceHandler, "entitlement"},
		{entitlementpb.RegisterEntitlementServiceHandler, "entitlement"},
		{licensepb.RegisterLicenseServiceHandler, "license"},
		{devicepb.RegisterDeviceServiceHandler, "device"},
		{devicepb.RegisterAuditServiceHandler, "device"},
		{downloadpb.RegisterDownloadServiceHandler, "download"},
	}
	for _, r := range regs {
		if err := r.reg(ctx, mux, g.conns[r.conn]); err != nil {
			return nil, err
		}
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	root.HandleFunc("GET /readyz", g.Ready)
	doc, err := g.openAPIDocument()
	if err != nil {
		return nil, err
	}
	var served struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &served); err != nil {
		return nil, err
	}
	g.routes = newRouteIndex(served.Paths)
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	api := g.limitLogins(g.authenticate(g.evictOnRevoke(mux)))
	root.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := badURL(r); err != nil {
			writeStatus(w, errs.ToStatus(r.Context(), err))
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ":download") {
			g.authenticate(http.HandlerFunc(g.download)).ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && ((strings.HasPrefix(r.URL.Path, "/v1/fulfillments/") &&
			(strings.HasSuffix(r.URL.Path, ":licenseFile") || strings.HasSuffix(r.URL.Path, ":print"))) ||
			(strings.HasPrefix(r.URL.Path, "/v1/consolidatedLicenses/") && strings.HasSuffix(r.URL.Path, ":licenseFile"))) {
			g.authenticate(http.HandlerFunc(g.fulfillmentView)).ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ":export") {
			g.authenticate(http.HandlerFunc(g.export)).ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	g.handler = otelhttp.NewHandler(withRequestID(accessLog(log, g.edge(root))), "gateway",
		otelhttp.WithTracerProvider(cfg.Telemetry.TracerProvider()), otelhttp.WithMeterProvider(cfg.Telemetry.MeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + redactPath(r.URL.Path) }))
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Close stops following revocations and closes the service connections.
func (g *Gateway) Close() error {
	g.stop()
	var errs []error
	for _, c := range g.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Ready reports whether every service answers its health check (/readyz, on the
// public and the ops listener).
func (g *Gateway) Ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// A service with parked events (events.HealthService not serving) is degraded:
	// still ready, so that the load balancer keeps it, but the answer names it
	// (docs/adr/0007).
	var degraded []string
	for name, conn := range g.conns {
		hc := healthpb.NewHealthClient(conn)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, name+" service is not ready", http.StatusServiceUnavailable)
			return
		}
		if ev, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: events.HealthService}); err == nil && ev.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			degraded = append(degraded, name)
		}
	}
	if len(degraded) > 0 {
		slices.Sort(degraded)
		_, _ = fmt.Fprintf(w, "ready, degraded: events parked in the dead-letter table of %s (tessera events dead-letters list --service NAME)\n", strings.Join(degraded, ", "))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

type (
	signedKey    struct{}
	principalKey struct{}
)

// authenticate resolves the caller's credentials to a signed principal carried in
// the request context. Requests without credentials pass unauthenticated: the
// services refuse them unless the RPC is public (login).
func (g *Gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if ok, wait := g.apiPerIP.allow(clientIP(r), now); !ok {
			writeStatus(w, tooMany("requests from this address", wait))
			return
		}
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
		token = strings.TrimSpace(token)
		if ok, wait := g.apiPerToken.allow(token, now); !ok {
			writeStatus(w, tooMany("requests with this token", wait))
			return
		}
		p, signed, err := g.principal(r.Context(), token)
		if err != nil {
			writeStatus(w, status.Convert(err))
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), signedKey{}, signed), principalKey{}, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principal resolves a bearer token to its principal and that principal signed for
// the services, from the cache when it can.
func (g *Gateway) principal(ctx context.Context, token string) (*commonpb.Principal, string, error) {
	if g.cfg.OperatorToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(g.cfg.OperatorToken)) == 1 {
		p := &commonpb.Principal{
			Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_OPERATOR, Username: "operator",
			Permissions: []string{string(authz.TenantsCreate)},
		}
		signed, err := g.signer.Sign(p)
		return p, signed, err
	}
	if validate.Problem(token, validate.Default) != "" {
		// Not a token the account service issues; refused here, as a token that is
		// not valid UTF-8 could not even be sent on to it.
		return nil, "", status.Error(codes.Unauthenticated, "the bearer token is malformed")
	}
	now := time.Now()
	if e, ok := g.cache.get(token, now); ok {
		return e.principal, e.signed, nil
	}
	self, err := g.signer.Sign(&commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, Service: "gateway",
		Permissions: []string{string(authz.TokensResolve)},
	})
	if err != nil {
		return nil, "", err
	}
	resp, err := g.auth.Authenticate(authz.Outgoing(ctx, self), &accountpb.AuthenticateRequest{AccessToken: token})
	if err != nil {
		return nil, "", err
	}
	signed, err := g.signer.Sign(resp.GetPrincipal())
	if err != nil {
		return nil, "", err
	}
	g.cache.put(token, resp.GetPrincipal(), signed, resp.GetTokenExpireTime().AsTime(), now)
	return resp.GetPrincipal(), signed, nil
}

// clientIP is the address the request came from (no proxy headers are trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limited reports whether a request is one of the public doors a guesser would try:
// sign-in, password reset, registration and joining accounts.
func limited(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	switch r.URL.Path {
	case "/v1/auth:login", "/v1/auth:resetPassword", "/v1/auth:signInWithKey", "/v1/registrations":
		return true
	}
	return strings.HasPrefix(r.URL.Path, "/v1/accounts/") && strings.HasSuffix(r.URL.Path, ":join")
}

// signInMaxBytes bounds the body of a rate-limited public request, which the gateway
// reads before any credential is checked; sign-in bodies are a few hundred bytes.
const signInMaxBytes = 64 << 10

// signInRequests are the request messages of the rate-limited routes, by path.
var signInRequests = map[string]func() proto.Message{
	"/v1/auth:login":         func() proto.Message { return &accountpb.LoginRequest{} },
	"/v1/auth:resetPassword": func() proto.Message { return &accountpb.ResetPasswordRequest{} },
	"/v1/auth:signInWithKey": func() proto.Message { return &accountpb.SignInWithKeyRequest{} },
	"/v1/registrations":      func() proto.Message { return &accountpb.RegisterSelfRequest{} },
}

// signInUser is the per-user rate limit key of a sign-in body ("" when it names no
// user or key). The body is decoded exactly as grpc-gateway will decode it for the
// service (protojson, both tenant_id and tenantId), so that one user has one bucket
// however the fields are spelled; a body that does not decode never reaches the
// service's password check.
func signInUser(path string, body []byte) string {
	newRequest, ok := signInRequests[path]
	if !ok {
		newRequest = func() proto.Message { return &accountpb.JoinAccountRequest{} }
	}
	req := newRequest()
	if protojson.Unmarshal(body, req) != nil {
		return ""
	}
	m := req.ProtoReflect()
	field := func(name protoreflect.Name) string {
		if fd := m.Descriptor().Fields().ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind {
			return m.Get(fd).String()
		}
		return ""
	}
	user, key := field("username"), field("key")
	if user+key == "" {
		return ""
	}
	return field("tenant_id") + "/" + strings.ToLower(user) + "/" + key
}

// limitLogins refuses sign-in, password-reset and registration attempts beyond the
// per-address and per-user (or per-key) rates: brute-force protection in front of the
// account service's lockout, and against guessing entitlement IDs.
func (g *Gateway) limitLogins(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !limited(r) {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		if ok, wait := g.loginPerIP.allow(clientIP(r), now); !ok {
			writeStatus(w, tooMany("sign-in attempts from this address", wait))
			return
		}
		// The body is read here to find the user, so the same limits apply as where
		// grpc-gateway reads it: the configured one (edge) and signInMaxBytes, both
		// answering 413. A truncated body is never passed on.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, signInMaxBytes))
		if limit, over := bodyTooLarge(r); over {
			writeStatus(w, tooLarge(limit))
			return
		}
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			writeStatus(w, tooLarge(tooBig.Limit))
			return
		}
		if err != nil {
			writeStatus(w, status.New(codes.InvalidArgument, "unreadable request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if user := signInUser(r.URL.Path, body); user != "" {
			if ok, wait := g.loginPerUser.allow(user, now); !ok {
				writeStatus(w, tooMany("sign-in attempts for this user", wait))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// evictOnRevoke drops a token from this gateway's cache as soon as a request
// through it deleted or rotated that token, a user's entries when a request changed
// the user, and the tenant's entries when a request changed its account tree (scopes
// follow the tree); other gateways learn all of these from events.
func (g *Gateway) evictOnRevoke(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, isToken := strings.CutPrefix(r.URL.Path, "/v1/accessTokens/")
		revoking := isToken && (r.Method == http.MethodDelete || (r.Method == http.MethodPost && strings.HasSuffix(rest, ":rotate")))
		treeChange := (r.Method == http.MethodPost && (r.URL.Path == "/v1/accounts" || strings.HasSuffix(r.URL.Path, "/customers") ||
			strings.HasSuffix(r.URL.Path, ":linkSubAccount") || strings.HasSuffix(r.URL.Path, ":unlinkSubAccount"))) ||
			(r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v1/accounts/"))
		userID, isUser := strings.CutPrefix(r.URL.Path, "/v1/users/")
		userChange := isUser && r.Method == http.MethodPatch
		if !revoking && !treeChange && !userChange {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		p, ok := r.Context().Value(principalKey{}).(*commonpb.Principal)
		if rec.status != http.StatusOK || !ok {
			return
		}
		switch {
		case revoking:
			g.cache.evict(p.GetTenantId(), strings.TrimSuffix(rest, ":rotate"), "")
		case userChange: // roles, memberships or product lines changed
			g.cache.evict(p.GetTenantId(), "", userID)
		default:
			g.cache.evictTenant(p.GetTenantId())
		}
	})
}
