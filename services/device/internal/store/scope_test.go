package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/device"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/device/internal/store"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

// newDB returns a pool on a fresh database with the device schema migrated.
func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	sets := device.Migrations()
	url := pgtest.NewDatabase(t, pgtest.Template{Name: pgtest.NameOf("device", sets...), Migrate: func(ctx context.Context, url string) error {
		pool, err := pg.Connect(ctx, url, "device", 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pg.Migrate(ctx, pool, "device", sets...)
	}})
	pool, err := pg.Connect(t.Context(), url, "device", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// TestScopeSQLMatchesSees_DEV5: the list condition selects exactly the devices
// Scope.Sees reaches, for every kind of scope, ended mappings not counting.
func TestScopeSQLMatchesSees_DEV5(t *testing.T) {
	ctx := t.Context()
	pool := newDB(t)

	type mapping struct {
		activation, account, product string
		ended                        bool
	}
	devices := map[string]struct {
		owner    string
		mappings []mapping
	}{
		"own-child": {"CHILD", []mapping{{"ACT-C", "CHILD", "cad", false}}},
		"own-other": {"OTHER", []mapping{{"ACT-O", "OTHER", "cad", false}, {"ACT-P", "PARENT", "sim", false}}},
		"unowned":   {"", []mapping{{"ACT-T", "TIER", "cad", false}}},
		"ended":     {"OTHER", []mapping{{"ACT-P2", "PARENT", "cad", true}}},
		"empty":     {"", nil},
	}
	var all []app.Device
	for id, d := range devices {
		_, err := pool.Exec(ctx, `INSERT INTO devices (tenant_id, id, account_id, display_name, device_type) VALUES ('t', $1, $2, $1, 'client')`, id, pg.NullIfEmpty(d.owner))
		require.NoError(t, err)
		dev := app.Device{ID: id, AccountID: d.owner}
		for _, m := range d.mappings {
			claim := uuid.New()
			_, err := pool.Exec(ctx, `INSERT INTO seat_claims (id, tenant_id, activation_id, quantity, state) VALUES ($1, 't', $2, 1, 'confirmed')`, claim, m.activation)
			require.NoError(t, err)
			_, err = pool.Exec(ctx, `INSERT INTO device_line_items (id, tenant_id, device_id, activation_id, quantity, request_id, claim_id, account_id, product_id, ended_at)
				VALUES ($1, 't', $2, $3, 1, $7, $1, $4, $5, CASE WHEN $6 THEN now() END)`, claim, id, m.activation, m.account, m.product, m.ended, claim.String())
			require.NoError(t, err)
			if !m.ended {
				dev.Mappings = append(dev.Mappings, app.Mapping{ActivationID: m.activation, AccountID: m.account, ProductID: m.product})
			}
		}
		all = append(all, dev)
	}
	scopes := map[string]app.Scope{
		"all":        {All: true},
		"owner":      {Owners: []string{"CHILD"}, Holders: []string{"CHILD"}},
		"holder":     {Owners: []string{"PARENT"}, Holders: []string{"PARENT"}},
		"partner":    {Owners: []string{"DIST"}, Holders: []string{"DIST", "TIER"}},
		"key":        {LineItems: []string{"ACT-O"}},
		"limited":    {Owners: []string{"PARENT"}, Holders: []string{"PARENT"}, Limited: true, Products: []string{"cad"}},
		"limitedSim": {Owners: []string{"PARENT"}, Holders: []string{"PARENT"}, Limited: true, Products: []string{"sim"}},
		"nobody":     {},
	}
	for name, s := range scopes {
		where, args := store.ScopeSQL(s, "d", 2)
		rows, err := pool.Query(ctx, `SELECT d.id FROM devices d WHERE d.tenant_id = $1 AND `+where+` ORDER BY d.id`, append([]any{"t"}, args...)...)
		require.NoError(t, err)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		want := []string{}
		for _, d := range all {
			if s.Sees(d) {
				want = append(want, d.ID)
			}
		}
		slices.Sort(want)
		require.Equal(t, want, got, name)
	}
}
