package events_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// BenchmarkConsumerDrain measures how fast a consumer shaped like the account
// notifier (an effect that reads one row through the pool, shared by its batch)
// works off a backlog already in the stream, through a pool of four connections as
// the services get on two cores. Compare events/s with the activation rate
// (docs/perf.md): a consumer slower than the events arrive lags without bound.
// With busy > 0 that many goroutines keep the process's CPU busy meanwhile, as the
// request handlers of a loaded suite do: the consumer then gets only its share.
func BenchmarkConsumerDrain(b *testing.B) {
	for _, c := range []struct{ workers, busy int }{{1, 0}, {4, 0}, {1, 64}, {4, 64}} {
		workers := c.workers
		b.Run(fmt.Sprintf("workers=%d/busy=%d", c.workers, c.busy), func(b *testing.B) {
			r := setup(b)
			for written := 0; written < b.N; {
				var o events.Outbox
				n := min(1000, b.N-written)
				for i := range n {
					_, err := o.Add(context.Background(), events.Subject("test", "thing", "created"), "t1", &eventspb.AccountCreated{AccountId: fmt.Sprint(written + i)})
					require.NoError(b, err)
				}
				batch := &pgx.Batch{}
				o.Queue(batch)
				require.NoError(b, r.pool.SendBatch(context.Background(), batch).Close())
				written += n
			}
			relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
			for {
				n, err := relay.PublishBatch(context.Background(), 1000)
				require.NoError(b, err)
				if n == 0 {
					break
				}
			}
			cfg := r.pool.Config().Copy()
			cfg.MaxConns = 4
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(b, err)
			defer pool.Close()

			var applied atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var busy sync.WaitGroup
			defer busy.Wait()
			for range c.busy {
				busy.Go(func() {
					sum := sha256.Sum256(nil)
					for ctx.Err() == nil {
						for range 100 {
							sum = sha256.Sum256(sum[:])
						}
						runtime.Gosched()
					}
				})
			}
			b.ResetTimer()
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				done <- events.Consume(ctx, r.js, pool, events.ConsumerConfig{
					Name: "drain", Subjects: []string{"tessera.test.>"}, Workers: workers,
					Effect: func(ctx context.Context, _ events.Envelope) error {
						_, err := events.Shared(ctx, "user", func() (int, error) {
							var one int
							return one, pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
						})
						applied.Add(1)
						return err
					},
				}, slog.New(slog.DiscardHandler))
			}()
			for applied.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			require.NoError(b, <-done)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
