package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// Events published together are recorded in shared transactions; an effect that
// fails for one of them has that one delivered again (and only that one), every
// event ends applied exactly once, and reads shared through Shared happen once per
// batch.
func TestEffectsInBatchesApplyOnce(t *testing.T) {
	r := setup(t)
	write(t, r, 30)
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
	n, err := relay.PublishBatch(t.Context(), 100) // all in the stream before the consumer starts
	require.NoError(t, err)
	require.Equal(t, 30, n)

	var mu sync.Mutex
	applied := map[string]int{}
	reads, deliveries := 0, 0
	var failed string
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, r.js, r.pool, events.ConsumerConfig{
			Name: "effects", Subjects: []string{"tessera.test.>"},
			Effect: func(ctx context.Context, ev events.Envelope) error {
				_, err := events.Shared(ctx, "settings", func() (string, error) {
					mu.Lock()
					defer mu.Unlock()
					reads++
					return "v", nil
				})
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				deliveries++
				if failed == "" {
					failed = ev.ID.String()
					return errors.New("the mail server is down") // delivered again later
				}
				applied[ev.ID.String()]++
				return nil
			},
		}, slog.Default())
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(applied) == 30
	}, 20*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // nothing more may arrive
	mu.Lock()
	defer mu.Unlock()
	for id, count := range applied {
		require.Equal(t, 1, count, "event %s applied %d times", id, count)
	}
	require.Equal(t, 31, deliveries, "only the failed event came again")
	require.Less(t, reads, deliveries, "events of one batch shared their read")
	var recorded int
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT count(*) FROM processed_events WHERE consumer = 'effects'`).Scan(&recorded))
	require.Equal(t, 30, recorded)
	cancel()
	require.NoError(t, <-done)
}

// A consumer needs exactly one way to apply events.
func TestConsumerNeedsHandlerOrEffect(t *testing.T) {
	r := setup(t)
	err := events.Consume(t.Context(), r.js, r.pool, events.ConsumerConfig{Name: "none", Subjects: []string{"tessera.test.>"}}, slog.Default())
	require.Error(t, err)
}

// A handler that wrote and then failed inside a batch leaves none of its writes
// behind (its savepoint is rolled back) while the other events of the batch commit;
// when its event comes again it applies once.
func TestFailedHandlerInBatchUndoesOnlyItsOwnWrites(t *testing.T) {
	r := setup(t)
	write(t, r, 20)
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
	_, err := relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)

	var mu sync.Mutex
	failedOnce := false
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, r.js, r.pool, events.ConsumerConfig{
			Name: "writer", Subjects: []string{"tessera.test.>"},
			Handler: func(ctx context.Context, tx pgx.Tx, ev events.Envelope) error {
				if _, err := tx.Exec(ctx, `INSERT INTO applied (event_id) VALUES ($1)`, ev.ID); err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				if !failedOnce {
					failedOnce = true
					return errors.New("a check after the write failed")
				}
				return nil
			},
		}, slog.Default())
	}()
	require.Eventually(t, func() bool {
		var n int
		_ = r.pool.QueryRow(t.Context(), `SELECT count(*) FROM applied`).Scan(&n)
		return n == 20
	}, 20*time.Second, 10*time.Millisecond, "the failed write was undone, else its redelivery would collide with it")
	var recorded int
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT count(*) FROM processed_events WHERE consumer = 'writer'`).Scan(&recorded))
	require.Equal(t, 20, recorded)
	cancel()
	require.NoError(t, <-done)
}

// Workers apply batches at the same time, and an OrderKey keeps the events of one
// key in stream order: each of two workers waits inside its first event until the
// other is inside one too (a single worker would wait forever), and every key's
// events arrive in the order they were written.
func TestConsumerWorkersRunInParallelKeepingPerKeyOrder(t *testing.T) {
	r := setup(t)
	const keys, perKey = 4, 25
	for seq := range perKey {
		for k := range keys {
			writeAccount(t, r, fmt.Sprintf("k%d/%03d", k, seq))
		}
	}
	_, err := events.NewRelay(r.pool, "evt", r.js, slog.Default()).PublishBatch(t.Context(), 1000)
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string][]string{}
	var inside atomic.Int32
	together := make(chan struct{})
	var closeOnce sync.Once
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, r.js, r.pool, events.ConsumerConfig{
			Name: "lanes", Subjects: []string{"tessera.test.>"}, Workers: keys,
			OrderKey: func(ev events.Envelope) string {
				var m eventspb.AccountCreated
				_ = proto.Unmarshal(ev.Payload, &m)
				key, _, _ := strings.Cut(m.GetAccountId(), "/")
				return key
			},
			Effect: func(ctx context.Context, ev events.Envelope) error {
				if inside.Add(1) >= 2 {
					closeOnce.Do(func() { close(together) })
				}
				defer inside.Add(-1)
				select {
				case <-together:
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Second):
					return errors.New("no other worker ran at the same time")
				}
				var m eventspb.AccountCreated
				if err := proto.Unmarshal(ev.Payload, &m); err != nil {
					return err
				}
				key, seq, _ := strings.Cut(m.GetAccountId(), "/")
				mu.Lock()
				defer mu.Unlock()
				seen[key] = append(seen[key], seq)
				return nil
			},
		}, slog.Default())
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range seen {
			n += len(s)
		}
		return n == keys*perKey
	}, 30*time.Second, 10*time.Millisecond)
	mu.Lock()
	for key, seqs := range seen {
		require.Len(t, seqs, perKey, key)
		require.IsIncreasing(t, seqs, "key %s kept its order", key)
	}
	mu.Unlock()
	cancel()
	require.NoError(t, <-done)
}

// Parallel workers never hold every connection of the pool while their effects wait
// for one more: four workers whose effects read through a pool of two connections
// still apply every event.
func TestConsumerWorkersLeaveConnectionsForTheirEffects(t *testing.T) {
	r := setup(t)
	cfg := r.pool.Config().Copy()
	cfg.MaxConns = 2
	small, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(small.Close)
	const keys = 8
	for k := range keys {
		for seq := range 20 {
			writeAccount(t, r, fmt.Sprintf("k%d/%03d", k, seq))
		}
	}
	_, err = events.NewRelay(r.pool, "evt", r.js, slog.Default()).PublishBatch(t.Context(), 1000)
	require.NoError(t, err)

	var applied atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, r.js, small, events.ConsumerConfig{
			Name: "readers", Subjects: []string{"tessera.test.>"}, Workers: 4,
			OrderKey: func(ev events.Envelope) string { return string(ev.Payload) },
			Effect: func(ctx context.Context, ev events.Envelope) error {
				var one int
				if err := small.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
					return err
				}
				applied.Add(1)
				return nil
			},
		}, slog.Default())
	}()
	require.Eventually(t, func() bool { return applied.Load() == keys*20 }, 20*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
