package events_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// writeAccount writes one event whose payload carries accountID, and returns its ID.
func writeAccount(t *testing.T, r rig, accountID string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, pgx.BeginFunc(t.Context(), r.pool, func(tx pgx.Tx) error {
		var err error
		id, err = events.Write(t.Context(), tx, events.Subject("test", "thing", "created"), "t1", &eventspb.AccountCreated{AccountId: accountID})
		return err
	}))
	return id
}

// streamEventIDs lists the event IDs in the stream, in stream order.
func streamEventIDs(t *testing.T, js jetstream.JetStream) []uuid.UUID {
	t.Helper()
	stream, err := js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)
	var ids []uuid.UUID
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		ids = append(ids, uuid.MustParse(m.Header.Get(events.HeaderEventID)))
	}
	return ids
}

func outboxCount(t *testing.T, r rig) int {
	t.Helper()
	var n int
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&n))
	return n
}

// parkedCount reads the relay's tessera.events.parked counter.
func parkedCount(t *testing.T, reader *sdkmetric.ManualReader) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "tessera.events.parked" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if svc, _ := p.Attributes.Value("service"); svc.AsString() == "evt" {
					n += p.Value
				}
			}
		}
	}
	return n
}

// An event larger than the broker's max_payload is parked with its error instead of
// blocking the stream: the events after it go out, it is listed and counted, and
// a replay that the broker still refuses parks it again, one attempt more.
func TestRelayParksAnEventLargerThanTheBrokerAccepts(t *testing.T) {
	pool := setupDB(t)
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: filepath.Join(t.TempDir(), "nats"),
		NoSigs: true, NoLog: true, MaxPayload: 4096,
	})
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	t.Cleanup(ns.Shutdown)
	r := rig{pool: pool, js: connect(t, ns.ClientURL())}
	reader := sdkmetric.NewManualReader()
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default(), events.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))

	first := writeAccount(t, r, "small-1")
	big := writeAccount(t, r, strings.Repeat("x", 8000))
	second := writeAccount(t, r, "small-2")
	n, err := relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, []uuid.UUID{first, second}, streamEventIDs(t, r.js), "the events around the big one went out")
	require.Zero(t, outboxCount(t, r))
	require.EqualValues(t, 1, parkedCount(t, reader))

	parked, err := events.ListDeadLetters(t.Context(), r.pool)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, big, parked[0].ID)
	require.Equal(t, 1, parked[0].Attempts)
	require.Contains(t, parked[0].Error, "the broker accepts at most 4096")
	require.Equal(t, events.Subject("test", "thing", "created"), parked[0].Subject)
	require.Greater(t, parked[0].Size, 8000)

	// Later events are not held back by the parked one.
	third := writeAccount(t, r, "small-3")
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []uuid.UUID{first, second, third}, streamEventIDs(t, r.js))

	// The broker still refuses it: a replay parks it again.
	moved, err := events.ReplayDeadLetters(t.Context(), r.pool, []uuid.UUID{big})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{big}, moved)
	require.Equal(t, 1, outboxCount(t, r))
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	parked, err = events.ListDeadLetters(t.Context(), r.pool)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, 2, parked[0].Attempts)
	require.EqualValues(t, 2, parkedCount(t, reader))
	require.Len(t, streamEventIDs(t, r.js), 3)
}

// An event the stream refuses (JetStream's own size limit, checked by the server
// after the client sent it) is parked too; once the operator has lifted the limit,
// a replay publishes it under its own event ID and the dead-letter table empties.
func TestRelayParksAnEventTheStreamRefusesAndReplaysIt(t *testing.T) {
	r := setup(t)
	stream, err := r.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	cfg := stream.CachedInfo().Config
	cfg.MaxMsgSize = 2048
	_, err = r.js.UpdateStream(t.Context(), cfg)
	require.NoError(t, err)
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())

	first := writeAccount(t, r, "small-1")
	big := writeAccount(t, r, strings.Repeat("y", 3000))
	second := writeAccount(t, r, "small-2")
	n, err := relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, []uuid.UUID{first, second}, streamEventIDs(t, r.js))
	parked, err := events.ListDeadLetters(t.Context(), r.pool)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, big, parked[0].ID)
	require.Contains(t, parked[0].Error, "message size exceeds maximum")

	require.NoError(t, events.EnsureStream(t.Context(), r.js)) // the operator lifts the limit
	moved, err := events.ReplayDeadLetters(t.Context(), r.pool, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{big}, moved)
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []uuid.UUID{first, second, big}, streamEventIDs(t, r.js))
	parked, err = events.ListDeadLetters(t.Context(), r.pool)
	require.NoError(t, err)
	require.Empty(t, parked)
}

// While NATS is down nothing is parked: the relay fails the batch, keeps every
// event in the outbox, and publishes them all in order once NATS is back.
func TestRelayRetriesInOrderWhileNATSIsDown(t *testing.T) {
	pool := setupDB(t)
	dir := filepath.Join(t.TempDir(), "nats")
	ns, err := events.StartEmbedded(dir, 0)
	require.NoError(t, err)
	port := ns.Addr().(*net.TCPAddr).Port
	r := rig{pool: pool, js: connect(t, ns.ClientURL())}
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
	relay.AckTimeout = time.Second

	ns.Shutdown()
	ns.WaitForShutdown()
	want := []uuid.UUID{writeAccount(t, r, "a"), writeAccount(t, r, "b"), writeAccount(t, r, "c")}
	n, err := relay.PublishBatch(t.Context(), 100)
	require.Error(t, err)
	require.Zero(t, n)
	require.Equal(t, 3, outboxCount(t, r))
	parked, err := events.ListDeadLetters(t.Context(), r.pool)
	require.NoError(t, err)
	require.Empty(t, parked, "an unreachable broker refuses nothing for good")

	ns, err = events.StartEmbedded(dir, port)
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	relay.AckTimeout = 10 * time.Second
	require.Eventually(t, func() bool { return r.js.Conn().IsConnected() }, 10*time.Second, 20*time.Millisecond)
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, want, streamEventIDs(t, r.js))
	require.Zero(t, outboxCount(t, r))
}

// The watcher reports what the dead-letter table holds, and sees a discard made
// elsewhere.
func TestWatchDeadLettersReportsParkedEvents(t *testing.T) {
	r := setup(t)
	stream, err := r.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	cfg := stream.CachedInfo().Config
	cfg.MaxMsgSize = 1024
	_, err = r.js.UpdateStream(t.Context(), cfg)
	require.NoError(t, err)
	writeAccount(t, r, strings.Repeat("z", 2000))
	_, err = events.NewRelay(r.pool, "evt", r.js, slog.Default()).PublishBatch(t.Context(), 100)
	require.NoError(t, err)

	var last atomic.Int64
	last.Store(-1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		events.WatchDeadLetters(ctx, r.pool, "evt", otel.GetMeterProvider(), 20*time.Millisecond, slog.Default(), func(n int) { last.Store(int64(n)) })
	}()
	require.Eventually(t, func() bool { return last.Load() == 1 }, 5*time.Second, 10*time.Millisecond)
	gone, err := events.DiscardDeadLetters(t.Context(), r.pool, nil)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	require.Eventually(t, func() bool { return last.Load() == 0 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	require.Zero(t, outboxCount(t, r), "a discarded event does not come back")
}
