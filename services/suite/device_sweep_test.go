package suite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/device"
	"github.com/tessera-dev/tessera/services/platform/schedule"
	"github.com/tessera-dev/tessera/services/suite"
)

// The device service's daily sweep gives back the seats of expired overrides at
// 10:00 UTC, without asking the device, once a day; a day that passed while the
// service was down is swept at the next start, and a restart after a day's sweep
// does not sweep that day again (SPEC DEV-7). The clock is the scheduler's: the
// overrides are chosen in real time (they must be in the future when mapped) and
// the scheduler's days lie after them.
func TestOverrideSweepRunsDailyAt10UTCAcrossRestarts_DEV7(t *testing.T) {
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	clock := schedule.NewManualClock(day.Add(9*time.Hour + 59*time.Minute))
	w := newSeatWorld(t, "sweep", func(c *suite.Config) { c.Clock = clock })
	acct := w.account(t, "Sweep")
	li := w.lineItem(t, acct, 10)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	mapWithOverride := func(quantity int64, expire time.Time) {
		t.Helper()
		item := &devicepb.LineItemMapping{LineItem: "lineItems/" + li, Quantity: quantity}
		if !expire.IsZero() {
			item.ExpireTime = timestamppb.New(expire)
		}
		_, err := w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{item}})
		require.NoError(t, err)
	}
	mapWithOverride(4, time.Now().Add(time.Hour))
	mapWithOverride(3, time.Time{})
	require.Equal(t, int64(3), w.available(t, li))

	waitAvailable := func(want int64, why string) {
		t.Helper()
		require.Eventually(t, func() bool { return w.available(t, li) == want }, 30*time.Second, 50*time.Millisecond, why)
	}
	runs := func() map[string]string {
		t.Helper()
		rows, err := w.pool.Query(t.Context(), `SELECT run_date::text, state FROM scheduled_runs WHERE job = $1`, device.ExpireOverridesJob)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var day, state string
			require.NoError(t, rows.Scan(&day, &state))
			out[day] = state
		}
		require.NoError(t, rows.Err())
		return out
	}

	// 10:00 passes: the expired override's 4 seats come back, the plain 3 stay.
	clock.Set(day.Add(10*time.Hour + time.Second))
	waitAvailable(7, "the sweep returned the expired override's seats")
	require.Equal(t, int64(3), w.held(t, d, li))
	require.Eventually(t, func() bool { return runs()[day.Format(time.DateOnly)] == "done" }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 1, w.events(t, "tessera.device.device.line_item_unmapped"))

	// A new override expires the same day; a restart does not sweep the day again.
	mapWithOverride(2, time.Now().Add(time.Hour))
	require.Equal(t, int64(5), w.available(t, li))
	w.env.Restart(t)
	w.dev = devicepb.NewDeviceServiceClient(w.env.Dial(t, "device"))
	w.ent = entitlementpb.NewEntitlementServiceClient(w.env.Dial(t, "entitlement"))
	clock.Set(day.Add(15 * time.Hour))
	_, err := w.dev.GetDevice(w.producer, &devicepb.GetDeviceRequest{Name: "devices/" + d})
	require.NoError(t, err)
	require.Equal(t, map[string]string{day.Format(time.DateOnly): "done"}, runs(), "one run for the day, none after the restart")
	require.Equal(t, int64(5), w.available(t, li))

	// Down over the next 10:00: the missed day is swept at the next start.
	w.env.Suite.Close()
	nextDay := day.Add(24 * time.Hour)
	clock.Set(nextDay.Add(12 * time.Hour))
	w.env.Restart(t)
	w.ent = entitlementpb.NewEntitlementServiceClient(w.env.Dial(t, "entitlement"))
	waitAvailable(7, "the missed day's sweep returned the second override's seats")
	require.Equal(t, int64(3), w.held(t, d, li))
	require.Eventually(t, func() bool { return runs()[nextDay.Format(time.DateOnly)] == "done" }, 10*time.Second, 50*time.Millisecond)
	require.Len(t, runs(), 2)
	require.Equal(t, 2, w.events(t, "tessera.device.device.line_item_unmapped"))
}
