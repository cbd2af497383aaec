// Package pg holds Tessera's Postgres plumbing: pools bound to one service schema,
// embedded forward-only migrations and a transaction helper.
package pg

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Connect opens a pool whose connections use schema as their search path.
func Connect(ctx context.Context, url, schema string, maxConns int32) (*pgxpool.Pool, error) {
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("pg: invalid schema name %q", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pg: parse database URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		encodeUUIDsNatively(conn.TypeMap())
		return nil
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: cannot reach the database: %w", err)
	}
	return pool, nil
}

// NullIfEmpty maps "" to SQL NULL, for optional unique columns such as request IDs.
func NullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InTx runs fn in a transaction, committing when it returns nil.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}

// MigrationSet is a named, independently versioned series of migrations. A service
// applies its own set plus the platform's (outbox, inbox) into its schema.
type MigrationSet struct {
	Name  string
	Files fs.FS
}

// Migrate applies every set in order.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, sets ...MigrationSet) error {
	for _, s := range sets {
		if err := migrateSet(ctx, pool, schema, s.Name, s.Files); err != nil {
			return err
		}
	}
	return nil
}

// migrateSet applies the numbered SQL files (NNN_name.sql) that schema has not seen
// yet, each in its own transaction, under an advisory lock so that replicas starting
// together migrate once.
func migrateSet(ctx context.Context, pool *pgxpool.Pool, schema, set string, migrations fs.FS) error {
	files, err := migrationFiles(migrations)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	lock := lockID(schema)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		return fmt.Errorf("pg: migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock) }()

	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+ident); err != nil {
		return fmt.Errorf("pg: create schema: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+`.schema_migrations (
		set_name text NOT NULL, version int NOT NULL, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (set_name, version))`); err != nil {
		return fmt.Errorf("pg: create migrations table: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+ident+`.schema_migrations WHERE set_name = $1`, set).Scan(&current); err != nil {
		return err
	}
	for _, m := range files {
		if m.version <= current {
			continue
		}
		body, err := fs.ReadFile(migrations, m.name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+ident); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO `+ident+`.schema_migrations (set_name, version, name) VALUES ($1, $2, $3)`, set, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("pg: migration %s/%s/%s: %w", schema, set, m.name, err)
		}
	}
	return nil
}

type migrationFile struct {
	version int
	name    string
}

func migrationFiles(migrations fs.FS) ([]migrationFile, error) {
	entries, err := fs.ReadDir(migrations, ".")
	if err != nil {
		return nil, fmt.Errorf("pg: read migrations: %w", err)
	}
	var out []migrationFile
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pg: migration %q must be named NNN_description.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("pg: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		out = append(out, migrationFile{version: v, name: e.Name()})
	}
	if len(out) == 0 {
		return nil, errors.New("pg: no migrations found")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func lockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("tessera-migrate:" + schema))
	return int64(h.Sum64() & 0x7fffffffffffffff) //nolint:gosec // masked to the positive range
}
