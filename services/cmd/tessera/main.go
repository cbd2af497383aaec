// Command tessera runs Tessera: `serve` runs any subset of the services and the
// gateway, `migrate` applies database migrations, `dev` runs everything locally with
// embedded NATS and (when DATABASE_URL is unset) a private Postgres cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessera-dev/tessera/services/platform/config"
	"github.com/tessera-dev/tessera/services/platform/logging"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
	"github.com/tessera-dev/tessera/services/suite"
)

const usage = `usage: tessera <command> [flags]

commands:
  serve     run services and the gateway (default: all)
  migrate   apply database migrations and exit
  dev       run everything locally (embedded NATS, private Postgres if no DATABASE_URL)

Every flag can also be set as TESSERA_<FLAG> (e.g. TESSERA_DATABASE_URL).
Run 'tessera <command> -h' for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "migrate":
		err = migrate(ctx, os.Args[2:])
	case "dev":
		err = dev(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "tessera: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "tessera: %v\n", err)
		os.Exit(1)
	}
}

// parse binds cfg's flags, parses args and applies TESSERA_* variables.
func parse(name string, args []string, cfg *suite.Config, extra func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet("tessera "+name, flag.ContinueOnError)
	cfg.BindFlags(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.ApplyEnv(fs); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = os.Getenv("DATABASE_URL")
	}
	return nil
}

func serve(ctx context.Context, args []string) error {
	var cfg suite.Config
	if err := parse("serve", args, &cfg, nil); err != nil {
		return err
	}
	return run(ctx, cfg, nil)
}

// run starts the suite and blocks until ctx ends or a server fails. ready, when set,
// is called once everything listens.
func run(ctx context.Context, cfg suite.Config, ready func(*suite.Suite) error) error {
	log := logging.New(os.Stderr, cfg.LogLevel)
	slog.SetDefault(log)
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: processServiceName(cfg.Services), OTLPEndpoint: cfg.OTLPEndpoint, OTLPInsecure: true})
	if err != nil {
		return err
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	s, err := suite.Start(ctx, cfg, log, tel)
	if err != nil {
		return err
	}
	defer s.Close()
	log.Info("tessera started", "services", cfg.Services, "addresses", s.Addrs)
	if ready != nil {
		if err := ready(s); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-done:
		return err
	}
}

func migrate(ctx context.Context, args []string) error {
	var cfg suite.Config
	if err := parse("migrate", args, &cfg, nil); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("migrate: database-url (or DATABASE_URL) is required")
	}
	return suite.Migrate(ctx, cfg.DatabaseURL, cfg.Services)
}

// processServiceName names the global telemetry providers, which only libraries
// handed no providers use (each service has its own): the service's name when the
// process runs one, else "tessera".
func processServiceName(services []string) string {
	if len(services) == 1 {
		return telemetry.ServiceName(services[0])
	}
	return "tessera"
}
