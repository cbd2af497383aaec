package events_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/events"
)

// A burst of wake-ups from many committers reaches the relay's channel for the
// schema, coalesced into a few notifications, and a wake-up after the burst is
// sent too (none is swallowed by the coalescing).
func TestWakerNotifiesTheRelayCoalesced(t *testing.T) {
	pool := setupDB(t)
	conn, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(t.Context(), `LISTEN tessera_outbox`)
	require.NoError(t, err)
	next := func() (string, bool) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return "", false
		}
		return n.Payload, true
	}
	w := events.NewWaker(pool)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(w.Wake)
	}
	wg.Wait()
	got := 0
	for {
		payload, ok := next()
		if !ok {
			break
		}
		require.Equal(t, "evt", payload)
		got++
	}
	require.GreaterOrEqual(t, got, 1)
	require.Less(t, got, 200, "wake-ups sent while one is in flight are coalesced")

	w.Wake()
	payload, ok := next()
	require.True(t, ok, "a later wake-up is sent")
	require.Equal(t, "evt", payload)
}
