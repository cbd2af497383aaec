package pg_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

var empty = pgtest.Template{Name: "empty_v1", Migrate: func(context.Context, string) error { return nil }}

// Migrations apply once, in order, even when several replicas start together, and
// a later run applies only what is new.
func TestMigrateOnceUnderConcurrency(t *testing.T) {
	url := pgtest.NewDatabase(t, empty)
	set := pg.MigrationSet{Name: "demo", Files: fstest.MapFS{
		"001_create.sql": {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY)`)},
		"002_seed.sql":   {Data: []byte(`INSERT INTO things VALUES (1)`)},
	}}
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			pool, err := pg.Connect(t.Context(), url, "demo", 2)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- pg.Migrate(t.Context(), pool, "demo", set)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	pool, err := pg.Connect(t.Context(), url, "demo", 2)
	require.NoError(t, err)
	defer pool.Close()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM things`).Scan(&n))
	require.Equal(t, 1, n)

	set.Files.(fstest.MapFS)["003_more.sql"] = &fstest.MapFile{Data: []byte(`INSERT INTO things VALUES (2)`)}
	require.NoError(t, pg.Migrate(t.Context(), pool, "demo", set))
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM things`).Scan(&n))
	require.Equal(t, 2, n)
}

func TestMigrateRefusesBadNamesAndRollsBackFailures(t *testing.T) {
	url := pgtest.NewDatabase(t, empty)
	pool, err := pg.Connect(t.Context(), url, "bad", 2)
	require.NoError(t, err)
	defer pool.Close()
	err = pg.Migrate(t.Context(), pool, "bad", pg.MigrationSet{Name: "x", Files: fstest.MapFS{"create.sql": {Data: []byte(`SELECT 1`)}}})
	require.ErrorContains(t, err, "NNN_description.sql")
	err = pg.Migrate(t.Context(), pool, "bad", pg.MigrationSet{Name: "x", Files: fstest.MapFS{
		"001_ok.sql":     {Data: []byte(`CREATE TABLE a (id int)`)},
		"002_broken.sql": {Data: []byte(`CREATE TABLE b (id int); SELECT nonsense`)},
	}})
	require.Error(t, err)
	var exists bool
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT to_regclass('bad.b') IS NOT NULL`).Scan(&exists))
	require.False(t, exists, "a failed migration leaves nothing behind")
	_, err = pg.Connect(t.Context(), url, "Robert'); DROP", 1)
	require.ErrorContains(t, err, "invalid schema name")
}
