// Package suite assembles Tessera's services and gateway into one process: the
// shared start-up of `tessera serve`, `tessera dev` and the end-to-end tests.
package suite

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/schedule"
)

// ServiceNames lists every service, in start order.
var ServiceNames = []string{"account", "entitlement", "license", "device", "download"}

// Config is the typed configuration of a Tessera process.
type Config struct {
	Services    []string // which services run here; the gateway runs when "gateway" is listed
	DatabaseURL string
	NATSURL     string
	Migrate     bool // apply migrations at start-up

	// Listen addresses of the services' gRPC servers and the gateway's HTTP server.
	Listen map[string]string
	// Targets are where neighbours are dialled; a service running here is dialled at
	// its listen address when no target is given.
	Targets map[string]string

	// PrincipalKey is the Ed25519 seed signing principals (gateway and services).
	PrincipalKey []byte
	// MasterKey (32 bytes) seals signing keys at rest.
	MasterKey []byte
	// OperatorToken lets the gateway authenticate platform operators; empty disables.
	OperatorToken string

	SMTPAddr string
	SMTPFrom string
	SMTPUser string
	SMTPPass string

	BlobDir string

	// Account holds the account service's tuning.
	SessionTTL     time.Duration
	ArgonMemoryKiB uint
	ArgonTime      uint
	LockoutAfter   int
	// EmailPoll is how often the account service looks for scheduled emails.
	EmailPoll time.Duration
	// PublicURL is where people reach the gateway, for links in emails.
	PublicURL string
	// DigestHour is the UTC hour the daily expiring-entitlement digests go out from.
	DigestHour int

	// ReservationSweep is how often the entitlement service releases seat
	// reservations whose holders never settled them.
	ReservationSweep time.Duration

	// Clock drives the daily jobs (the device service's 10:00 UTC override sweep);
	// nil: the system clock. Tests set it; it has no flag.
	Clock schedule.Clock

	// Gateway protection (GW-2).
	AuthCacheTTL              time.Duration
	LoginPerMinutePerIP       int
	LoginPerMinutePerUser     int
	RequestsPerSecondPerIP    int
	RequestsPerSecondPerToken int

	// Edge limits (Decision 11). MaxBodyBytes bounds a REST request body and every
	// gRPC message; the timeouts are the gateway HTTP server's.
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// CORSAllowedOrigins are the browser origins allowed to call the REST API.
	CORSAllowedOrigins []string

	// OpsListen serves /metrics, /healthz and /readyz; empty turns it off.
	OpsListen string
	// MetricsTenantLabels keeps tenant IDs as metric labels.
	MetricsTenantLabels bool

	LogLevel     string
	OTLPEndpoint string
	ShutdownWait time.Duration
}

// DefaultListen are the default ports: each service its own, even in one process.
var DefaultListen = map[string]string{
	"gateway":     "127.0.0.1:8080",
	"account":     "127.0.0.1:9101",
	"entitlement": "127.0.0.1:9102",
	"license":     "127.0.0.1:9103",
	"device":      "127.0.0.1:9104",
	"download":    "127.0.0.1:9105",
}

type base64Value struct{ b *[]byte }

func (v base64Value) String() string {
	if v.b == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(*v.b)
}

func (v base64Value) Set(s string) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not base64: %w", err)
	}
	*v.b = b
	return nil
}

type listValue struct{ l *[]string }

func (v listValue) String() string {
	if v.l == nil {
		return ""
	}
	return strings.Join(*v.l, ",")
}

func (v listValue) Set(s string) error {
	*v.l = nil
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*v.l = append(*v.l, part)
		}
	}
	return nil
}

// BindFlags registers the configuration on fs with defaults; each flag can also be
// set through TESSERA_<FLAG> (see platform/config).
func (c *Config) BindFlags(fs *flag.FlagSet) {
	c.Services = append(slices.Clone(ServiceNames), "gateway")
	c.Listen = map[string]string{}
	c.Targets = map[string]string{}
	fs.Var(listValue{&c.Services}, "services", "comma-separated services to run: "+strings.Join(ServiceNames, ",")+",gateway")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "Postgres URL (each service uses its own schema)")
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server with JetStream")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply database migrations at start-up")
	for _, name := range append(slices.Clone(ServiceNames), "gateway") {
		def := DefaultListen[name]
		fs.Func(name+"-listen", "listen address of the "+name+" server (default "+def+")", func(s string) error { c.Listen[name] = s; return nil })
		if name != "gateway" {
			fs.Func(name+"-target", "address to dial the "+name+" service at when it runs elsewhere", func(s string) error { c.Targets[name] = s; return nil })
		}
	}
	fs.Var(base64Value{&c.PrincipalKey}, "principal-key", "base64 Ed25519 seed (32 bytes) signing principals; shared by gateway and services")
	fs.Var(base64Value{&c.MasterKey}, "master-key", "base64 AES-256 key (32 bytes) sealing signing keys at rest")
	fs.StringVar(&c.OperatorToken, "operator-token", "", "bearer token of platform operators (tenant creation); empty disables")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", "127.0.0.1:25", "SMTP server host:port for outgoing email")
	fs.StringVar(&c.SMTPFrom, "smtp-from", "tessera@localhost", "sender address of outgoing email")
	fs.StringVar(&c.SMTPUser, "smtp-user", "", "SMTP user name (PLAIN auth); empty: no auth")
	fs.StringVar(&c.SMTPPass, "smtp-password", "", "SMTP password")
	fs.StringVar(&c.BlobDir, "blob-dir", "./data/blobs", "folder of the local blob store")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 12*time.Hour, "lifetime of password sessions")
	fs.UintVar(&c.ArgonMemoryKiB, "password-argon-memory-kib", 19*1024, "argon2id memory cost of password hashes, KiB")
	fs.UintVar(&c.ArgonTime, "password-argon-time", 2, "argon2id passes of password hashes")
	fs.DurationVar(&c.AuthCacheTTL, "auth-cache-ttl", 5*time.Second, "how long the gateway trusts a resolved bearer token before asking again (revocations also arrive as events)")
	fs.IntVar(&c.LoginPerMinutePerIP, "login-rate-per-ip", 60, "sign-in attempts per minute per client address (0: no limit)")
	fs.IntVar(&c.LoginPerMinutePerUser, "login-rate-per-user", 10, "sign-in attempts per minute per user name (0: no limit)")
	fs.IntVar(&c.RequestsPerSecondPerIP, "api-rate-per-ip", 0, "API requests per second per client address (0: no limit)")
	fs.IntVar(&c.RequestsPerSecondPerToken, "api-rate-per-token", 0, "API requests per second per bearer token (0: no limit)")
	fs.IntVar(&c.LockoutAfter, "lockout-after", 5, "consecutive wrong passwords that lock a user out (0: never)")
	fs.IntVar(&c.DigestHour, "digest-hour", 6, "UTC hour from which the daily expiring-entitlement digests go out (-1: never)")
	fs.StringVar(&c.PublicURL, "public-url", "http://127.0.0.1:8080", "where people reach the REST gateway, for links in emails")
	fs.DurationVar(&c.ReservationSweep, "reservation-sweep", 30*time.Second, "how often expired, unconfirmed seat reservations are released")
	fs.DurationVar(&c.EmailPoll, "email-poll", 10*time.Second, "how often scheduled emails (partner customers' account emails) are looked for")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 16<<20, "largest REST request body (413 beyond) and gRPC message, bytes")
	fs.DurationVar(&c.ReadHeaderTimeout, "http-read-header-timeout", 10*time.Second, "how long the gateway waits for a request's headers")
	fs.DurationVar(&c.ReadTimeout, "http-read-timeout", time.Minute, "how long the gateway waits for a whole request, body included")
	fs.DurationVar(&c.WriteTimeout, "http-write-timeout", 2*time.Minute, "how long the gateway takes to write a response (downloads: per chunk)")
	fs.DurationVar(&c.IdleTimeout, "http-idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fs.Var(listValue{&c.CORSAllowedOrigins}, "cors-allowed-origins", "comma-separated browser origins allowed to call the REST API (* for any); empty: CORS off")
	fs.StringVar(&c.OpsListen, "ops-listen", "127.0.0.1:9100", "address of /metrics, /healthz and /readyz (empty: off)")
	fs.BoolVar(&c.MetricsTenantLabels, "metrics-tenant-labels", false, "label business metrics with tenant IDs")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", "", "OTLP gRPC collector host:port for traces; empty disables export")
	fs.DurationVar(&c.ShutdownWait, "shutdown-wait", 10*time.Second, "how long to drain requests on shutdown")
}

// Runs reports whether this process runs the named service (or "gateway").
func (c *Config) Runs(name string) bool { return slices.Contains(c.Services, name) }

// ListenAddr is the listen address of a server.
func (c *Config) ListenAddr(name string) string {
	if a, ok := c.Listen[name]; ok {
		return a
	}
	return DefaultListen[name]
}

// Validate refuses configurations that cannot work.
func (c *Config) Validate() error {
	var problems []string
	for _, s := range c.Services {
		if s != "gateway" && !slices.Contains(ServiceNames, s) {
			problems = append(problems, fmt.Sprintf("unknown service %q", s))
		}
	}
	if len(c.Services) == 0 {
		problems = append(problems, "no services selected")
	}
	needsDB := slices.ContainsFunc(c.Services, func(s string) bool { return s != "gateway" })
	if needsDB && c.DatabaseURL == "" {
		problems = append(problems, "database-url is required")
	}
	if len(c.PrincipalKey) != ed25519.SeedSize {
		problems = append(problems, "principal-key must be a base64 32-byte Ed25519 seed")
	}
	if c.Runs("license") && len(c.MasterKey) != 32 {
		problems = append(problems, "master-key must be a base64 32-byte key")
	}
	if c.OperatorToken != "" && len(c.OperatorToken) < 24 {
		problems = append(problems, "operator-token must be at least 24 characters")
	}
	if c.Runs("account") {
		if c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour {
			problems = append(problems, "session-ttl must be between 1m and 720h")
		}
		if c.ArgonMemoryKiB < 8*1024 || c.ArgonMemoryKiB > 4*1024*1024 {
			problems = append(problems, "password-argon-memory-kib must be between 8192 and 4194304")
		}
		if c.DigestHour < -1 || c.DigestHour > 23 {
			problems = append(problems, "digest-hour must be between -1 and 23")
		}
		if c.EmailPoll < 0 {
			problems = append(problems, "email-poll must not be negative")
		}
		if c.LockoutAfter < 0 || c.LockoutAfter > 100 {
			problems = append(problems, "lockout-after must be between 0 and 100")
		}
		if c.ArgonTime < 1 || c.ArgonTime > 20 {
			problems = append(problems, "password-argon-time must be between 1 and 20")
		}
	}
	if c.Runs("entitlement") && (c.ReservationSweep < 100*time.Millisecond || c.ReservationSweep > time.Hour) {
		problems = append(problems, "reservation-sweep must be between 100ms and 1h")
	}
	if c.AuthCacheTTL < 0 || c.AuthCacheTTL > time.Minute {
		problems = append(problems, "auth-cache-ttl must be between 0 and 1m")
	}
	for name, v := range map[string]int{"login-rate-per-ip": c.LoginPerMinutePerIP, "login-rate-per-user": c.LoginPerMinutePerUser, "api-rate-per-ip": c.RequestsPerSecondPerIP, "api-rate-per-token": c.RequestsPerSecondPerToken} {
		if v < 0 {
			problems = append(problems, name+" must not be negative")
		}
	}
	if c.MaxBodyBytes < 1<<10 || c.MaxBodyBytes > 1<<30 {
		problems = append(problems, "max-body-bytes must be between 1024 and 1073741824")
	}
	for name, d := range map[string]time.Duration{
		"http-read-header-timeout": c.ReadHeaderTimeout, "http-read-timeout": c.ReadTimeout,
		"http-write-timeout": c.WriteTimeout, "http-idle-timeout": c.IdleTimeout,
	} {
		if d <= 0 || d > time.Hour {
			problems = append(problems, name+" must be between 1ns and 1h")
		}
	}
	for _, o := range c.CORSAllowedOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			problems = append(problems, fmt.Sprintf("cors-allowed-origins: %q is not * or an http(s) origin", o))
		}
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	return nil
}
