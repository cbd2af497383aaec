package app_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/device/internal/clients"
	"github.com/tessera-dev/tessera/services/device/internal/store"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/platform/telemetry"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// overrideWorld runs the suite, whose device service maps seats, and builds device
// replicas of its own over the same schema to run the daily expiry with a fixed now.
type overrideWorld struct {
	env  *suitetest.Env
	pool *pgxpool.Pool
	ent  entitlementpb.EntitlementServiceClient
	dev  devicepb.DeviceServiceClient
}

func newOverrideWorld(t *testing.T) *overrideWorld {
	env := suitetest.Start(t)
	pool, err := pg.Connect(t.Context(), env.DatabaseURL, "device", 8)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	// As the service does: calls present a service principal of the tenant at hand.
	conn, err := grpcx.Dial(env.Suite.Addrs["entitlement"], "device", env.Suite.Signer, telemetry.Providers{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &overrideWorld{
		env: env, pool: pool, ent: entitlementpb.NewEntitlementServiceClient(conn),
		dev: devicepb.NewDeviceServiceClient(env.Dial(t, "device")),
	}
}

// replica is another device service process over the same database.
func (w *overrideWorld) replica() (*app.App, *seats.Ledger) {
	ledger := seats.NewLedger(w.pool, seats.Client{Ent: w.ent}, "device", slog.Default())
	return app.New(app.Deps{Store: store.New(w.pool), Seats: ledger, Entitlements: clients.Entitlements{Ent: w.ent}}), ledger
}

type mapped struct {
	tenant, device, activationID string
	producer                     context.Context
}

// mapWithOverrides seeds a tenant's line item of 10 seats and maps one mapping per
// expiry (zero: none) to a new device.
func (w *overrideWorld) mapWithOverrides(t *testing.T, tenant string, expiries map[time.Time]int64) mapped {
	seed := w.env.SeedLineItem(t, tenant, 10)
	ctx := w.env.As(t, suitetest.Producer(tenant))
	d, err := w.dev.CreateDevice(ctx, &devicepb.CreateDeviceRequest{Device: &devicepb.Device{
		Account: "accounts/" + seed.AccountID, DisplayName: "Box", Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE,
	}})
	require.NoError(t, err)
	for at, n := range expiries {
		item := &devicepb.LineItemMapping{ActivationId: seed.ActivationID, Quantity: n}
		if !at.IsZero() {
			item.ExpireTime = timestamppb.New(at)
		}
		_, err := w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: d.GetName(), Items: []*devicepb.LineItemMapping{item}})
		require.NoError(t, err)
	}
	return mapped{tenant: tenant, device: d.GetDeviceId(), activationID: seed.ActivationID, producer: ctx}
}

func (w *overrideWorld) available(t *testing.T, m mapped) int64 {
	li, err := w.ent.GetLineItem(authz.ForTenant(t.Context(), m.tenant), &entitlementpb.GetLineItemRequest{Name: "lineItems/" + m.activationID})
	require.NoError(t, err)
	return li.GetAvailable()
}

func (w *overrideWorld) expiredRows(t *testing.T, m mapped) int {
	var n int
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT count(*) FROM device_line_items WHERE tenant_id = $1 AND device_id = $2 AND end_reason = 'override_expired'`,
		m.tenant, m.device).Scan(&n))
	return n
}

// DEV-7: the daily expiry gives back the seats of every tenant's mappings whose
// override passed, and only those; runs at once on two replicas, and repeated, give
// each seat back once.
func TestExpireOverridesGivesSeatsBackOnce_DEV7_ENT5(t *testing.T) {
	w := newOverrideWorld(t)
	now := time.Now().Add(2 * time.Hour)
	one := w.mapWithOverrides(t, "expiry-one", map[time.Time]int64{
		time.Now().Add(time.Hour): 3, time.Now().Add(3 * time.Hour): 2, {}: 1,
	})
	two := w.mapWithOverrides(t, "expiry-two", map[time.Time]int64{time.Now().Add(time.Hour): 4})
	require.EqualValues(t, 4, w.available(t, one))
	require.EqualValues(t, 6, w.available(t, two))

	a, _ := w.replica()
	b, _ := w.replica()
	ctx := authz.WithPrincipal(t.Context(), &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, Service: "device"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for _, r := range []*app.App{a, b, a, b} {
		wg.Go(func() {
			n, err := r.ExpireOverrides(ctx, now)
			require.NoError(t, err)
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 2, total, "each expired mapping once")
	require.EqualValues(t, 7, w.available(t, one), "the 3 seats whose override passed are back, the others held")
	require.EqualValues(t, 10, w.available(t, two))
	require.Equal(t, 1, w.expiredRows(t, one))
	require.Equal(t, 1, w.expiredRows(t, two))

	n, err := a.ExpireOverrides(ctx, now)
	require.NoError(t, err)
	require.Zero(t, n, "a second run finds nothing")
	n, err = a.ExpireOverrides(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "a later day takes the later override")
	require.EqualValues(t, 9, w.available(t, one))
	var events int
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND subject = 'tessera.device.device.line_item_unmapped'`,
		one.tenant).Scan(&events))
	require.Equal(t, 2, events)
}

// A run that died between reserving a give-back and committing it is resumed by the
// next run under the same claim; one whose claim the reconciler gave up on (past the
// grace) is resumed under a fresh claim. Either way the seats come back once.
func TestExpireOverridesResumesAfterACrash_DEV7_ENT5(t *testing.T) {
	w := newOverrideWorld(t)
	soon := time.Now().Add(time.Minute)
	m := w.mapWithOverrides(t, "expiry-crash", map[time.Time]int64{soon: 3, soon.Add(time.Second): 2})
	require.EqualValues(t, 5, w.available(t, m))
	var rows []struct {
		id, claim uuid.UUID
	}
	r, err := w.pool.Query(t.Context(), `SELECT id, claim_id FROM device_line_items WHERE tenant_id = $1 AND device_id = $2 ORDER BY expire_at`, m.tenant, m.device)
	require.NoError(t, err)
	for r.Next() {
		var row struct{ id, claim uuid.UUID }
		require.NoError(t, r.Scan(&row.id, &row.claim))
		rows = append(rows, row)
	}
	require.NoError(t, r.Err())
	require.Len(t, rows, 2)
	require.Eventually(t, func() bool {
		var confirmed int
		_ = w.pool.QueryRow(t.Context(), `SELECT count(*) FROM seat_claims WHERE id = ANY($1) AND state = 'confirmed'`, []uuid.UUID{rows[0].claim, rows[1].claim}).Scan(&confirmed)
		return confirmed == 2
	}, 10*time.Second, 20*time.Millisecond)

	// The crashed run reserved both give-backs and committed neither.
	crashed, ledger := w.replica()
	_ = crashed
	sctx := authz.ForTenant(t.Context(), m.tenant)
	for _, row := range rows {
		claim := row.claim
		_, err := ledger.Begin(sctx, seats.Claim{
			ID: ids.FromKey(m.tenant, "device", "override/"+row.id.String()+"/0"), TenantID: m.tenant, ActivationID: m.activationID, Replaces: &claim,
		})
		require.NoError(t, err)
	}
	// The second one's claim outlived the grace and was released.
	_, err = w.pool.Exec(t.Context(), `UPDATE seat_claims SET updated_at = now() - interval '1 hour' WHERE id = $1`,
		ids.FromKey(m.tenant, "device", "override/"+rows[1].id.String()+"/0"))
	require.NoError(t, err)
	ledger.Grace = 30 * time.Minute
	_, err = ledger.Reconcile(sctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, w.available(t, m), "nothing went back yet")

	next, _ := w.replica()
	ctx := authz.WithPrincipal(t.Context(), &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, Service: "device"})
	n, err := next.ExpireOverrides(ctx, soon.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.EqualValues(t, 10, w.available(t, m))
	var state string
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT state FROM seat_claims WHERE id = $1`,
		ids.FromKey(m.tenant, "device", "override/"+rows[1].id.String()+"/1")).Scan(&state))
	require.Equal(t, "confirmed", state, "a fresh claim took over from the released one")
	n, err = next.ExpireOverrides(ctx, soon.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	require.EqualValues(t, 10, w.available(t, m))
}
