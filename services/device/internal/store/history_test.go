package store_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/store"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// TestHistoryIndex_DEV12: every device event is indexed under the devices it names
// (a return under its destination too) in the transaction that writes it; events of
// other entities, other tenants and rolled-back changes are not.
func TestHistoryIndex_DEV12(t *testing.T) {
	pool := newDB(t)
	s := store.New(pool)
	write := func(tenant, verb string, msg proto.Message) {
		require.NoError(t, pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			_, err := events.Write(t.Context(), tx, events.Subject("device", "device", verb), tenant, msg)
			return err
		}))
	}
	write("t", "created", &eventspb.DeviceCreated{DeviceId: "a"})
	write("t", "created", &eventspb.DeviceCreated{DeviceId: "b"})
	write("u", "created", &eventspb.DeviceCreated{DeviceId: "a"})
	write("t", "returned", &eventspb.DeviceReturned{DeviceId: "a", DestinationDeviceId: "b"})
	require.NoError(t, pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := events.Write(t.Context(), tx, events.Subject("device", "settings", "updated"), "t", &eventspb.DeviceSettingsUpdated{SkipAccountCheck: true})
		return err
	}))
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := events.Write(t.Context(), tx, events.Subject("device", "device", "updated"), "t", &eventspb.DeviceUpdated{DeviceId: "a"}); err != nil {
			return err
		}
		return pgx.ErrTxClosed // the change fails
	})
	require.Error(t, err)

	subjects := func(tenant, dev string) []string {
		list, next, err := s.ListDeviceHistory(t.Context(), tenant, dev, 0, "")
		require.NoError(t, err)
		require.Empty(t, next)
		var out []string
		for _, r := range list {
			out = append(out, r.Subject)
		}
		return out
	}
	require.Equal(t, []string{"tessera.device.device.returned", "tessera.device.device.created"}, subjects("t", "a"), "newest first")
	require.Equal(t, []string{"tessera.device.device.returned", "tessera.device.device.created"}, subjects("t", "b"), "the destination's history has the return")
	require.Equal(t, []string{"tessera.device.device.created"}, subjects("u", "a"))
	var indexed int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM device_history`).Scan(&indexed))
	require.Equal(t, 5, indexed, "settings events and the rolled-back change are not indexed")
}
