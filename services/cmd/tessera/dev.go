package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/mail"
	"github.com/tessera-dev/tessera/services/platform/pgcluster"
	"github.com/tessera-dev/tessera/services/suite"
)

// devState is what `tessera dev` keeps between runs, so that signing keys stay
// readable and the printed credentials stay valid.
type devState struct {
	PrincipalKey  []byte `json:"principal_key"`
	MasterKey     []byte `json:"master_key"`
	OperatorToken string `json:"operator_token"`
	Tenant        string `json:"tenant"`
	AdminUsername string `json:"admin_username"`
	AdminPassword string `json:"admin_password"`
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func loadDevState(path string) (*devState, error) {
	st := &devState{}
	b, err := os.ReadFile(path) //nolint:gosec // the dev state file named by --dir
	switch {
	case err == nil:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%w); delete it to start afresh", path, err)
		}
		return st, nil
	case errors.Is(err, os.ErrNotExist):
		st = &devState{
			PrincipalKey: randomBytes(32), MasterKey: randomBytes(32),
			OperatorToken: "op_" + hex.EncodeToString(randomBytes(20)),
			Tenant:        "demo", AdminUsername: "admin",
			AdminPassword: "Tessera-" + hex.EncodeToString(randomBytes(6)),
		}
		b, _ := json.MarshalIndent(st, "", "  ")
		return st, os.WriteFile(path, b, 0o600)
	default:
		return nil, err
	}
}

func dev(ctx context.Context, args []string) error {
	var cfg suite.Config
	var dir string
	var demo bool
	if err := parse("dev", args, &cfg, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", ".tessera", "folder for local state: Postgres cluster, NATS data, mailbox, blobs, keys")
		fs.BoolVar(&demo, "demo", false, "load sample data (a customer, a product, an order, a download)")
	}); err != nil {
		return err
	}
	// 0755: when run as root, the PostgreSQL user must traverse it to its cluster.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // see above
		return err
	}
	st, err := loadDevState(filepath.Join(dir, "dev-state.json"))
	if err != nil {
		return err
	}
	cfg.PrincipalKey, cfg.MasterKey, cfg.OperatorToken = st.PrincipalKey, st.MasterKey, st.OperatorToken
	cfg.BlobDir = filepath.Join(dir, "blobs")

	if cfg.DatabaseURL == "" {
		fmt.Fprintln(os.Stderr, "DATABASE_URL is not set: starting a private PostgreSQL cluster in", filepath.Join(dir, "pg"))
		cluster, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
		if errors.Is(err, pgcluster.ErrNoServer) {
			return errors.New("no PostgreSQL available: install the PostgreSQL server (e.g. `apt-get install postgresql`) or set DATABASE_URL to a running one")
		}
		if err != nil {
			return fmt.Errorf("could not start a private PostgreSQL: %w", err)
		}
		if !cluster.Owned() {
			fmt.Fprintln(os.Stderr, "the PostgreSQL cluster belongs to another running `tessera dev`; it keeps running when this one stops")
		}
		// Stops the server when this process owns it: started it, or took over one
		// whose owner died (kill -9) and left it running.
		defer func() { _ = cluster.Stop() }()
		cfg.DatabaseURL = cluster.URL
	}

	ns, err := events.StartEmbedded(filepath.Join(dir, "nats"), 0)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	cfg.NATSURL = ns.ClientURL()

	mb, err := mail.StartMailbox(filepath.Join(dir, "mailbox"), "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() { _ = mb.Close() }()
	cfg.SMTPAddr = mb.Addr

	return run(ctx, cfg, func(s *suite.Suite) error {
		if err := bootstrap(ctx, s, st); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		demoLine := "(start with --demo for sample data)"
		if demo {
			var err error
			if demoLine, err = loadDemo(ctx, s, st.Tenant); err != nil {
				return fmt.Errorf("demo data: %w", err)
			}
		}
		fmt.Printf(`
Tessera is running.

  REST gateway     %s   (OpenAPI: %s/openapi.json)
  gRPC services    account %s, entitlement %s, license %s, device %s, download %s
  ops              http://%s   (/metrics, /healthz, /readyz)
  tenant           %s
  admin user       %s
  admin password   %s
  operator token   %s
  mailbox          %s   (every email sent, as .eml files)
  state            %s
  database         %s   (DATABASE_URL for tessera migrate / events)
  demo data        %s

Press Ctrl-C to stop.
`, s.GatewayURL, s.GatewayURL, s.Addrs["account"], s.Addrs["entitlement"], s.Addrs["license"], s.Addrs["device"], s.Addrs["download"],
			s.Addrs["ops"], st.Tenant, st.AdminUsername, st.AdminPassword, st.OperatorToken, mb.Dir, filepath.Join(dir, "dev-state.json"), redacted(cfg.DatabaseURL), demoLine)
		return nil
	})
}

// redacted hides a password in a database URL (a DATABASE_URL of the user's).
func redacted(databaseURL string) string {
	if u, err := url.Parse(databaseURL); err == nil {
		return u.Redacted()
	}
	return databaseURL
}

// bootstrap creates the dev tenant and its administrator on first start.
func bootstrap(ctx context.Context, s *suite.Suite, st *devState) error {
	conn, err := grpc.NewClient(s.Addrs["account"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	signed, err := s.Signer.Sign(&commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_OPERATOR, Username: "tessera-dev",
		Permissions: []string{string(authz.TenantsCreate)},
	})
	if err != nil {
		return err
	}
	_, err = accountpb.NewAccountServiceClient(conn).CreateTenant(authz.Outgoing(ctx, signed), &accountpb.CreateTenantRequest{
		TenantId: st.Tenant, DisplayName: "Demo Software Inc.", AdminUsername: st.AdminUsername,
		AdminEmail: "admin@demo.example", AdminPassword: st.AdminPassword,
	})
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	return err
}
