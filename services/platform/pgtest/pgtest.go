// Package pgtest gives each test a fresh database cloned from a migrated template, on
// the server named by DATABASE_URL or else on a private cluster started on demand.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgcluster"
)

// Template describes how to build the template database.
type Template struct {
	// Name identifies the template's content (e.g. a hash of all migrations).
	Name    string
	Migrate func(ctx context.Context, databaseURL string) error
}

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// ServerURL returns the URL of the server tests use: DATABASE_URL, or a private
// cluster under the system temp folder that stays up between test runs.
func ServerURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			serverURL = u
			return
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("tessera-test-pg-%d", os.Getuid()))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		unlock, err := lockDir(dir)
		if err != nil {
			serverErr = err
			return
		}
		defer unlock()
		c, err := pgcluster.Start(ctx, dir)
		if err != nil {
			serverErr = err
			return
		}
		serverURL = c.URL
	})
	if serverErr != nil {
		t.Fatalf("pgtest: no PostgreSQL: %v", serverErr)
	}
	return serverURL
}

// NewDatabase creates a fresh database from tpl's template and drops it at cleanup.
// It returns the database's URL.
func NewDatabase(t testing.TB, tpl Template) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := ServerURL(t)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer func() { _ = admin.Close(context.Background()) }()

	tplName := "tessera_tpl_" + tpl.Name
	if err := ensureTemplate(ctx, admin, base, tplName, tpl); err != nil {
		t.Fatalf("pgtest: template: %v", err)
	}
	name := "tessera_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tplName)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
			_ = c.Close(ctx)
		}
	})
	return withDatabase(base, name)
}

func ensureTemplate(ctx context.Context, admin *pgx.Conn, base, tplName string, tpl Template) error {
	h := fnv.New64a()
	_, _ = h.Write([]byte(tplName))
	lock := int64(h.Sum64() & 0x7fffffffffffffff) //nolint:gosec // masked to the positive range
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		return err
	}
	defer func() { _, _ = admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lock) }()
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tplName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := tplName + "_building"
	_, _ = admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building))
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return err
	}
	if err := tpl.Migrate(ctx, withDatabase(base, building)); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, tplName))
	return err
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NameOf names a template after the content of its migrations, so that a changed
// migration gets a fresh template instead of a stale one.
func NameOf(prefix string, sets ...pg.MigrationSet) string {
	h := sha256.New()
	for _, set := range sets {
		_ = fs.WalkDir(set.Files, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := fs.ReadFile(set.Files, path)
			h.Write([]byte(set.Name + "/" + path))
			h.Write(b)
			return nil
		})
	}
	return prefix + "_" + hex.EncodeToString(h.Sum(nil))[:16]
}
