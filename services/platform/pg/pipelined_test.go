package pg_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

func pipelinedPool(t *testing.T) *pgxpool.Pool {
	url := pgtest.NewDatabase(t, empty)
	pool, err := pg.Connect(t.Context(), url, "public", 1) // one connection: a broken one would show
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(t.Context(), `CREATE TABLE things (id uuid PRIMARY KEY, n int NOT NULL CHECK (n > 0))`)
	require.NoError(t, err)
	return pool
}

// A pipelined transaction commits what its batches wrote, all at once; one that
// fails, or is closed before its commit, leaves nothing and its connection usable.
func TestPipelinedTx(t *testing.T) {
	pool := pipelinedPool(t)
	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM things`).Scan(&n))
		return n
	}
	insert := func(b *pgx.Batch, n int) { b.Queue(`INSERT INTO things VALUES ($1, $2)`, uuid.New(), n) }

	tx, err := pg.BeginPipelined(t.Context(), pool)
	require.NoError(t, err)
	b := &pgx.Batch{}
	insert(b, 1)
	var seen int
	b.Queue(`SELECT count(*) FROM things`).QueryRow(func(row pgx.Row) error { return row.Scan(&seen) })
	require.NoError(t, tx.Send(t.Context(), b))
	require.Equal(t, 1, seen, "the batch sees its own writes")
	b = &pgx.Batch{}
	insert(b, 2)
	require.NoError(t, tx.Commit(t.Context(), b))
	tx.Close(t.Context())
	require.Equal(t, 2, count())

	tx, err = pg.BeginPipelined(t.Context(), pool)
	require.NoError(t, err)
	b = &pgx.Batch{}
	insert(b, 3)
	insert(b, -1) // refused by the check
	require.Error(t, tx.Send(t.Context(), b))
	tx.Close(t.Context())
	require.Equal(t, 2, count(), "the failed transaction left nothing")

	tx, err = pg.BeginPipelined(t.Context(), pool)
	require.NoError(t, err)
	b = &pgx.Batch{}
	insert(b, 4)
	require.NoError(t, tx.Send(t.Context(), b))
	tx.Close(t.Context()) // never committed
	require.Equal(t, 2, count(), "an abandoned transaction left nothing")
	require.Error(t, tx.Send(t.Context(), &pgx.Batch{}), "a closed transaction takes no more")
}

// uuid.UUID values and slices of them travel as Postgres uuids.
func TestUUIDsRoundTrip(t *testing.T) {
	pool := pipelinedPool(t)
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	_, err := pool.Exec(t.Context(), `INSERT INTO things SELECT id, 1 FROM unnest($1::uuid[]) AS t(id)`, ids)
	require.NoError(t, err)
	var got uuid.UUID
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT id FROM things WHERE id = $1`, ids[1]).Scan(&got))
	require.Equal(t, ids[1], got)
	var text string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT $1::uuid::text`, ids[0]).Scan(&text))
	require.Equal(t, ids[0].String(), text)
}
