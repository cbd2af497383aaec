// Package suitetest runs the whole suite in-process for tests: a fresh database from
// a migrated template on a real Postgres, an embedded JetStream server, a real SMTP
// mailbox, and every service plus the gateway on free ports.
package suitetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/logging"
	"github.com/tessera-dev/tessera/services/platform/mail"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
	"github.com/tessera-dev/tessera/services/suite"
)

// Env is a running suite.
type Env struct {
	Suite         *suite.Suite
	Config        suite.Config
	DatabaseURL   string
	Mailbox       *mail.Mailbox
	OperatorToken string
}

// Template builds the test database template holding every service's schema.
func Template() pgtest.Template {
	var sets []pg.MigrationSet
	for _, name := range suite.ServiceNames {
		for _, set := range suite.MigrationSets(name) {
			set.Name = name + "/" + set.Name
			sets = append(sets, set)
		}
	}
	return pgtest.Template{
		Name: pgtest.NameOf("suite", sets...),
		Migrate: func(ctx context.Context, url string) error {
			return suite.Migrate(ctx, url, suite.ServiceNames)
		},
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Start runs the suite for the test and stops it at cleanup. Gateway rate limits
// are off (tests sign in often from one address); tune lets a test change that.
func Start(t testing.TB, tune ...func(*suite.Config)) *Env {
	t.Helper()
	url := pgtest.NewDatabase(t, Template())
	dir := t.TempDir()
	ns, err := events.StartEmbedded(filepath.Join(dir, "nats"), 0)
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	mb, err := mail.StartMailbox(filepath.Join(dir, "mailbox"), "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = mb.Close() })

	env := &Env{DatabaseURL: url, Mailbox: mb, OperatorToken: "op_" + hex.EncodeToString(random(16))}
	cfg := suite.Config{
		Services: append(append([]string{}, suite.ServiceNames...), "gateway"), DatabaseURL: url, NATSURL: ns.ClientURL(),
		Migrate: false, Listen: map[string]string{}, Targets: map[string]string{},
		PrincipalKey: random(32), MasterKey: random(32), OperatorToken: env.OperatorToken,
		SMTPAddr: mb.Addr, SMTPFrom: "tessera@test.example", BlobDir: filepath.Join(dir, "blobs"),
		ShutdownWait: time.Second, SessionTTL: time.Hour, ArgonMemoryKiB: 19 * 1024, ArgonTime: 2, LockoutAfter: 5,
		AuthCacheTTL: 5 * time.Second, EmailPoll: 100 * time.Millisecond, ReservationSweep: 100 * time.Millisecond,
	}
	for _, f := range tune {
		f(&cfg)
	}
	for _, name := range cfg.Services {
		cfg.Listen[name] = "127.0.0.1:0"
	}
	level := "error"
	if os.Getenv("TESSERA_TEST_LOG") != "" {
		level = os.Getenv("TESSERA_TEST_LOG")
	}
	log := logging.New(os.Stderr, level)
	s, err := suite.Start(context.Background(), cfg, log, setupTelemetry(t))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	env.Suite, env.Config = s, cfg
	return env
}

// Restart stops the suite and starts it again on the same database, NATS and
// mailbox, as a redeploy would; the gateway gets a new address.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.Suite.Close()
	cfg := e.Config
	cfg.Listen = map[string]string{}
	for _, name := range cfg.Services {
		cfg.Listen[name] = "127.0.0.1:0"
	}
	s, err := suite.Start(context.Background(), cfg, logging.New(os.Stderr, "error"), setupTelemetry(t))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	e.Suite = s
}

var (
	telemetryOnce sync.Once
	telemetryTel  *telemetry.Telemetry
	telemetryErr  error
	// Spans records every span the test process makes.
	Spans = tracetest.NewInMemoryExporter()
)

// setupTelemetry sets OpenTelemetry up once per test process (the global providers
// are set once) and returns it; every suite of the process shares its providers.
func setupTelemetry(t testing.TB) *telemetry.Telemetry {
	telemetryOnce.Do(func() {
		cfg := telemetry.Config{ServiceName: "tessera-test", SpanExporter: Spans}
		if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
			cfg.SpanExporter = nil // benchmarks measure the path, not the test recorder
		}
		telemetryTel, telemetryErr = telemetry.Setup(context.Background(), cfg)
	})
	require.NoError(t, telemetryErr)
	return telemetryTel
}

// Dial connects to a service's gRPC port without any principal.
func (e *Env) Dial(t testing.TB, service string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(e.Suite.Addrs[service], grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// As returns a context presenting p, signed with the suite's principal key.
func (e *Env) As(t testing.TB, p *commonpb.Principal) context.Context {
	t.Helper()
	signed, err := e.Suite.Signer.Sign(p)
	require.NoError(t, err)
	return authz.Outgoing(t.Context(), signed)
}

// Producer is a tenant-wide producer administrator of tenant.
func Producer(tenant string) *commonpb.Principal {
	return &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: tenant, UserId: "test-producer", TenantWide: true,
		AccountIds: []string{"HOME"}, Permissions: perms(authz.RoleProducerAdmin.Permissions),
	}
}

// Service is a Tessera service acting in tenant.
func Service(tenant string) *commonpb.Principal {
	return &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, TenantId: tenant, Service: "test", TenantWide: true,
		Permissions: perms(authz.ServicePermissions),
	}
}

// Operator may create tenants.
func Operator() *commonpb.Principal {
	return &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_OPERATOR, Permissions: []string{string(authz.TenantsCreate)}}
}

func perms(ps []authz.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// WaitForMail waits until a stored message contains every one of the strings and
// returns it.
func (e *Env) WaitForMail(t testing.TB, contains ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		files, err := e.Mailbox.Files()
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f) //nolint:gosec // a file of the test mailbox
			require.NoError(t, err)
			ok := true
			for _, c := range contains {
				ok = ok && strings.Contains(string(b), c)
			}
			if ok {
				return string(b)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no email containing %q arrived", contains)
	return ""
}
