package suite

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tessera-dev/tessera/services/account"
	"github.com/tessera-dev/tessera/services/device"
	"github.com/tessera-dev/tessera/services/download"
	"github.com/tessera-dev/tessera/services/entitlement"
	"github.com/tessera-dev/tessera/services/gateway"
	"github.com/tessera-dev/tessera/services/license"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/blob"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/mail"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// service is what every Tessera service offers the process.
type service interface {
	Register(*grpc.Server)
	Run(ctx context.Context) error
}

// Permissions returns the permission table of a service.
func Permissions(name string) grpcx.Permissions {
	switch name {
	case account.Name:
		return account.Permissions()
	case entitlement.Name:
		return entitlement.Permissions()
	case license.Name:
		return license.Permissions()
	case device.Name:
		return device.Permissions()
	case download.Name:
		return download.Permissions()
	}
	return nil
}

// deadLetterPoll is how often each service counts its parked events for its health.
const deadLetterPoll = 5 * time.Second

// Suite is a running set of services (and maybe the gateway).
type Suite struct {
	// Addrs are the actual listen addresses (ports resolved).
	Addrs      map[string]string
	GatewayURL string
	Signer     *authz.Signer

	cancel  context.CancelFunc
	group   *errgroup.Group
	closers []func()
}

// MigrationSets returns a service's migration sets (nil for the gateway).
func MigrationSets(name string) []pg.MigrationSet {
	if f, ok := migrationSets[name]; ok {
		return f()
	}
	return nil
}

// Migrate applies the migrations of the named services, each into its schema.
func Migrate(ctx context.Context, databaseURL string, services []string) error {
	for _, name := range services {
		sets, ok := migrationSets[name]
		if !ok {
			continue
		}
		pool, err := pg.Connect(ctx, databaseURL, name, 2)
		if err != nil {
			return err
		}
		err = pg.Migrate(ctx, pool, name, sets()...)
		pool.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

var migrationSets = map[string]func() []pg.MigrationSet{
	account.Name:     account.Migrations,
	entitlement.Name: entitlement.Migrations,
	license.Name:     license.Migrations,
	device.Name:      device.Migrations,
	download.Name:    download.Migrations,
}

// Start validates cfg, binds every listener, builds the services and runs them in
// the background. Close stops them. tel gives each service its own tracer and meter
// providers and serves /metrics; nil uses the global providers and serves none.
func Start(ctx context.Context, cfg Config, log *slog.Logger, tel *telemetry.Telemetry) (s *Suite, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	group, runCtx := errgroup.WithContext(runCtx)
	s = &Suite{Addrs: map[string]string{}, cancel: cancel, group: group}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	metrics := http.NotFoundHandler()
	if tel != nil {
		metrics = tel.MetricsHandler
	}
	priv := ed25519.NewKeyFromSeed(cfg.PrincipalKey)
	s.Signer = authz.NewSigner(priv)
	verifier := authz.NewVerifier(priv.Public().(ed25519.PublicKey))

	if cfg.Migrate {
		if err := Migrate(ctx, cfg.DatabaseURL, cfg.Services); err != nil {
			return nil, err
		}
	}

	// Bind first, so that every target is known before anything dials.
	listeners := map[string]net.Listener{}
	for _, name := range cfg.Services {
		ln, err := net.Listen("tcp", cfg.ListenAddr(name))
		if err != nil {
			return nil, fmt.Errorf("%s: listen on %s: %w", name, cfg.ListenAddr(name), err)
		}
		listeners[name] = ln
		s.Addrs[name] = ln.Addr().String()
		s.closers = append(s.closers, func() { _ = ln.Close() })
	}
	target := func(name string) string {
		if t, ok := cfg.Targets[name]; ok {
			return t
		}
		if a, ok := s.Addrs[name]; ok {
			return a
		}
		return DefaultListen[name]
	}

	// Services publish and consume events; the gateway follows token revocations.
	nc, js, err := events.Connect(ctx, cfg.NATSURL, "tessera")
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, nc.Close)
	conns := map[string]*grpc.ClientConn{}
	dial := func(from, to string) (*grpc.ClientConn, error) {
		key := from + "->" + to
		if c, ok := conns[key]; ok {
			return c, nil
		}
		fromTel, err := tel.For(from)
		if err != nil {
			return nil, err
		}
		c, err := grpcx.Dial(target(to), from, s.Signer, fromTel, grpcx.WithMaxMessageBytes(int(cfg.MaxBodyBytes)))
		if err != nil {
			return nil, err
		}
		conns[key] = c
		s.closers = append(s.closers, func() { _ = c.Close() })
		return c, nil
	}
	pool := func(name string) (*pgxpool.Pool, error) {
		p, err := pg.Connect(ctx, cfg.DatabaseURL, name, 0)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, p.Close)
		return p, nil
	}

	for _, name := range ServiceNames {
		if !cfg.Runs(name) {
			continue
		}
		prov, err := tel.For(name)
		if err != nil {
			return nil, err
		}
		p, err := pool(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		svc, err := build(name, cfg, log, prov, js, p, dial)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		srv := grpcx.NewServer(grpcx.ServerOptions{
			Name: name, Verifier: verifier, Permissions: Permissions(name), Logger: log, Telemetry: prov,
			MaxMessageBytes: int(cfg.MaxBodyBytes),
		})
		svc.Register(srv.Server)
		srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		srv.Health.SetServingStatus(events.HealthService, healthpb.HealthCheckResponse_SERVING)
		ln := listeners[name]
		group.Go(func() error { return srv.Serve(ln) })
		group.Go(func() error { return svc.Run(runCtx) })
		group.Go(func() error {
			// Parked events degrade the service's events health, not its overall
			// health: the gateway's /readyz says so and stays 200 (docs/adr/0007).
			events.WatchDeadLetters(runCtx, p, name, prov.MeterProvider(), deadLetterPoll, log.With("service", name), func(parked int) {
				st := healthpb.HealthCheckResponse_SERVING
				if parked > 0 {
					st = healthpb.HealthCheckResponse_NOT_SERVING
				}
				srv.Health.SetServingStatus(events.HealthService, st)
			})
			return nil
		})
		s.closers = append(s.closers, srv.GracefulStop)
	}

	// Readiness is the gateway's (every service answers) where it runs, else being up.
	ready := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ready\n")) }
	if cfg.Runs("gateway") {
		prov, err := tel.For("gateway")
		if err != nil {
			return nil, err
		}
		gw, err := gateway.New(ctx, gateway.Config{
			Telemetry:     prov,
			OperatorToken: cfg.OperatorToken, AuthCacheTTL: cfg.AuthCacheTTL, Events: js,
			LoginPerMinutePerIP: cfg.LoginPerMinutePerIP, LoginPerMinutePerUser: cfg.LoginPerMinutePerUser,
			RequestsPerSecondPerIP: cfg.RequestsPerSecondPerIP, RequestsPerSecondPerToken: cfg.RequestsPerSecondPerToken,
			MaxBodyBytes: cfg.MaxBodyBytes, WriteTimeout: cfg.WriteTimeout, CORSAllowedOrigins: cfg.CORSAllowedOrigins,
			Targets: gateway.Targets{
				Account: target("account"), Entitlement: target("entitlement"), License: target("license"),
				Device: target("device"), Download: target("download"),
			},
		}, s.Signer, log)
		if err != nil {
			return nil, err
		}
		ready = gw.Ready
		// Every phase of a connection is bounded: headers, the whole request, the
		// response (downloads extend it chunk by chunk) and keep-alive idleness.
		hs := &http.Server{
			Handler: gw, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
			WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		}
		ln := listeners["gateway"]
		s.GatewayURL = "http://" + ln.Addr().String()
		group.Go(func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		s.closers = append(s.closers, func() {
			sctx, c := context.WithTimeout(context.Background(), cfg.ShutdownWait)
			defer c()
			_ = hs.Shutdown(sctx)
			_ = gw.Close()
		})
	}

	// Operators' endpoints, off the public port: metrics (RPC rates, business counts)
	// are not for partners' eyes.
	if cfg.OpsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.HandleFunc("GET /readyz", ready)
		ln, err := net.Listen("tcp", cfg.OpsListen)
		if err != nil {
			return nil, fmt.Errorf("ops: listen on %s: %w", cfg.OpsListen, err)
		}
		s.Addrs["ops"] = ln.Addr().String()
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
		group.Go(func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		s.closers = append(s.closers, func() { _ = hs.Close() })
	}
	return s, nil
}

func build(name string, cfg Config, log *slog.Logger, tel telemetry.Providers, js jetstream.JetStream,
	p *pgxpool.Pool, dial func(from, to string) (*grpc.ClientConn, error),
) (service, error) {
	log = log.With("service", name)
	switch name {
	case account.Name:
		ent, err := dial(name, entitlement.Name)
		if err != nil {
			return nil, err
		}
		dev, err := dial(name, device.Name)
		if err != nil {
			return nil, err
		}
		return account.New(account.Deps{Pool: p, JS: js, Log: log, Telemetry: tel, Entitlement: ent, Device: dev, Mailer: &mail.Sender{
			Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPass,
		}, Config: account.Config{
			SessionTTL: cfg.SessionTTL, LockoutAfter: cfg.LockoutAfter, EmailPoll: cfg.EmailPoll, PublicURL: cfg.PublicURL, DigestHour: cfg.DigestHour,
			Password: account.PasswordParams{Memory: uint32(cfg.ArgonMemoryKiB), Time: uint32(cfg.ArgonTime), Threads: 1}, //nolint:gosec // bounded by Validate
		}}), nil
	case entitlement.Name:
		c, err := dial(name, account.Name)
		if err != nil {
			return nil, err
		}
		return entitlement.New(entitlement.Deps{Pool: p, JS: js, Accounts: c, Log: log, Telemetry: tel, ReservationSweep: cfg.ReservationSweep}), nil
	case license.Name:
		c, err := dial(name, entitlement.Name)
		if err != nil {
			return nil, err
		}
		acc, err := dial(name, account.Name)
		if err != nil {
			return nil, err
		}
		return license.New(license.Deps{Pool: p, JS: js, Entitlement: c, Account: acc, MasterKey: cfg.MasterKey, Log: log, Telemetry: tel})
	case device.Name:
		acc, err := dial(name, account.Name)
		if err != nil {
			return nil, err
		}
		ent, err := dial(name, entitlement.Name)
		if err != nil {
			return nil, err
		}
		lic, err := dial(name, license.Name)
		if err != nil {
			return nil, err
		}
		return device.New(device.Deps{Pool: p, JS: js, Accounts: acc, Entitlement: ent, License: lic, Log: log, Telemetry: tel, Clock: cfg.Clock}), nil
	case download.Name:
		ent, err := dial(name, entitlement.Name)
		if err != nil {
			return nil, err
		}
		blobs, err := blob.NewLocal(cfg.BlobDir)
		if err != nil {
			return nil, err
		}
		return download.New(download.Deps{Pool: p, JS: js, Entitlement: ent, Blobs: blobs, Log: log}), nil
	}
	return nil, fmt.Errorf("unknown service %q", name)
}

// Wait blocks until a server or background task fails, or Close is called.
func (s *Suite) Wait() error { return s.group.Wait() }

// Close stops everything, newest first.
func (s *Suite) Close() {
	s.cancel()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	_ = s.group.Wait()
}
