package suite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// benchClients is how many calls run at once in the benchmarks that measure one
// load: as many as one busy partner system sends.
const benchClients = 16

// activationLoads are the numbers of concurrent callers the golden activation is
// measured at: one busy partner system, then loads that reach the machine's
// capacity. Activations that arrive together share their database work (group
// commit), so throughput rises with load until the CPU is spent.
var activationLoads = []int{16, 64, 128}

// BenchmarkGoldenActivation measures the golden activation over gRPC (line item
// read, seat claim and reservation, signing, fulfillment + outbox, confirmation) at
// each load of activationLoads, and in the same run the machine's own limits:
// raw Ed25519 signatures per second, and raw single-row Postgres commits per second
// from as many connections as the load has callers. The ratios say how close the
// whole path comes to those limits; docs/perf.md also compares the capacities (the
// best activation rate with the best raw commit rate of the run).
func BenchmarkGoldenActivation(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	seed := env.SeedLineItem(b, "bench-co", 1_000_000_000)
	lic := licensepb.NewLicenseServiceClient(env.Dial(b, "license"))
	ctx := env.As(b, suitetest.Producer("bench-co"))
	li := "lineItems/" + seed.ActivationID
	// Warm up: the first activation creates the tenant's signing key.
	_, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: li, HostId: "HOSTNAME=warm", Quantity: 1})
	require.NoError(b, err)

	warmUp(b, env.DatabaseURL, 5000, func(i int) error {
		_, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{
			LineItem: li, HostId: "HOSTNAME=warm", Quantity: 1, RequestId: fmt.Sprintf("warm-%d", i),
		})
		return err
	})
	signs := ed25519SignsPerSecond(b)
	lagProbe := newEventLagProbe(b, env)
	for _, clients := range activationLoads {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			run := ids.New("RUN", 4) // request IDs of their own in every round
			commitsBefore := databaseCommits(b, env.DatabaseURL)
			b.ResetTimer()
			before := sampleCPU()
			perSec, p50, p99 := runConcurrentPercentilesN(b, b.N, clients, func(i int) error {
				_, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{
					LineItem: li, HostId: "HOSTNAME=dogma", Quantity: 1, RequestId: fmt.Sprintf("%s-%d", run, i),
				})
				return err
			})
			b.StopTimer()
			// The events of the load are not done when the last call returns: report how
			// many the relays and consumers still had to handle, and how long they took.
			lag, caughtUp := eventLagAfterLoad(b, lagProbe)
			b.ReportMetric(float64(lag), "event_lag_at_stop")
			b.ReportMetric(ms(caughtUp), "lag_to_zero_ms")
			time.Sleep(200 * time.Millisecond) // the confirmer's last group
			reportPerOp(b, before, sampleCPU(), b.N, "activation")
			b.ReportMetric(float64(databaseCommits(b, env.DatabaseURL)-commitsBefore)/float64(b.N), "db_commits/activation")
			commitsFrom := sampleCPU()
			commits := postgresCommitsPerSecond(b, env.DatabaseURL, clients)
			reportPerOp(b, commitsFrom, sampleCPU(), int(commits*commitWindow.Seconds()), "raw_commit")
			b.ReportMetric(perSec, "activations/s")
			b.ReportMetric(ms(p50), "p50_ms")
			b.ReportMetric(ms(p99), "p99_ms")
			b.ReportMetric(signs, "raw_ed25519_signs/s")
			b.ReportMetric(commits, "raw_pg_commits/s")
			b.ReportMetric(perSec/commits, "ratio_vs_pg_commits")
			b.ReportMetric(perSec/signs, "ratio_vs_signs")
		})
	}
}

// warmUp runs n calls and then analyzes the database, as autovacuum does within a
// minute of a deployment filling its tables: a benchmark on a fresh database would
// otherwise measure query plans made for empty tables, which no running system has.
func warmUp(b *testing.B, url string, n int, call func(i int) error) {
	runConcurrentPercentilesN(b, n, benchClients, call)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(b, err)
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
}

// productionLoops runs the background loops at their production intervals (tests
// run them fast so that expiries and scheduled emails show up in time), so that a
// benchmark measures the load a deployment carries.
func productionLoops(c *suite.Config) {
	c.ReservationSweep, c.EmailPoll = 30*time.Second, 10*time.Second
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ed25519SignsPerSecond signs on every core for half a second.
func ed25519SignsPerSecond(b *testing.B) float64 {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(b, err)
	msg := make([]byte, 300) // about one canonical INCREMENT line
	var n atomic.Int64
	deadline := time.Now().Add(500 * time.Millisecond)
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				ed25519.Sign(key, msg)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / 0.5
}

// postgresCommitsPerSecond commits single-row inserts from clients connections for
// two seconds: the ceiling any durable write path on this machine runs under.
func postgresCommitsPerSecond(b *testing.B, url string, clients int) float64 {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(b, err)
	cfg.MaxConns = int32(clients) //nolint:gosec // a handful of callers
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.bench_commits (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(b, err)
	var n atomic.Int64
	deadline := time.Now().Add(commitWindow)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := pool.Exec(ctx, `INSERT INTO public.bench_commits DEFAULT VALUES`); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / commitWindow.Seconds()
}

// commitWindow is how long postgresCommitsPerSecond commits.
const commitWindow = 2 * time.Second

// BenchmarkConsolidate1000 consolidates 1,000 fulfillments of one server host into
// one license file over gRPC (reading the members, re-signing 1,000 INCREMENT lines
// under the shared header, the JSON form, storing the file and the membership).
func BenchmarkConsolidate1000(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	seed := env.SeedLineItem(b, "cons-co", 1_000_000_000)
	lic := licensepb.NewLicenseServiceClient(env.Dial(b, "license"))
	ctx := env.As(b, suitetest.Producer("cons-co"))
	li := "lineItems/" + seed.ActivationID
	no := false
	var namesMu sync.Mutex
	names := make([]string, 0, 1000*b.N)
	_, _, _ = runConcurrentPercentiles(b, 1000*b.N, func(i int) error {
		r, err := lic.ActivateLineItems(ctx, &licensepb.ActivateLineItemsRequest{
			Lines:      []*licensepb.ActivationLine{{LineItem: li}},
			Hosts:      []*licensepb.HostGroup{{ServerHostIds: []string{fmt.Sprintf("HOSTNAME=srv%d", i/1000)}}},
			Attributes: &licensepb.FulfilAttributes{Consolidate: &no},
		})
		if err == nil {
			namesMu.Lock()
			names = append(names, r.GetFulfillments()[0].GetName())
			namesMu.Unlock()
		}
		return err
	})
	byServer := map[string][]string{}
	for _, n := range names {
		f, err := lic.GetFulfillment(ctx, &licensepb.GetFulfillmentRequest{Name: n})
		require.NoError(b, err)
		byServer[f.GetHostId()] = append(byServer[f.GetHostId()], n)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r, err := lic.ConsolidateFulfillments(ctx, &licensepb.ConsolidateFulfillmentsRequest{Fulfillments: byServer[fmt.Sprintf("HOSTNAME=srv%d", i)]})
		require.NoError(b, err)
		require.Len(b, r.GetConsolidatedLicenses(), 1)
	}
	b.StopTimer()
	b.ReportMetric(ms(time.Since(start)/time.Duration(b.N)), "ms/consolidation_of_1000")
}

// databaseCommits reads how many transactions the suite's database committed so far
// (every service's schema lives in it).
func databaseCommits(b *testing.B, url string) int64 {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(b, err)
	defer pool.Close()
	_, _ = pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	var n int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n))
	return n
}

// eventLagProbe counts the events that are not handled yet: rows waiting in every
// service's outbox, and messages every durable consumer has not acknowledged.
type eventLagProbe struct {
	js   jetstream.JetStream
	pool *pgxpool.Pool
}

func newEventLagProbe(b *testing.B, env *suitetest.Env) eventLagProbe {
	nc, err := nats.Connect(env.Config.NATSURL)
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(b, err)
	pool, err := pgxpool.New(context.Background(), env.DatabaseURL)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	return eventLagProbe{js: js, pool: pool}
}

// lag is the number of events still to relay or to consume, and where they wait.
func (p eventLagProbe) lag(b *testing.B) (int, map[string]int) {
	ctx := context.Background()
	total, where := 0, map[string]int{}
	for _, name := range suite.ServiceNames {
		var n int
		require.NoError(b, p.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.outbox`, pgx.Identifier{name}.Sanitize())).Scan(&n))
		total += n
		if n > 0 {
			where[name+" outbox"] = n
		}
	}
	stream, err := p.js.Stream(ctx, events.StreamName)
	require.NoError(b, err)
	consumers := stream.ListConsumers(ctx)
	for info := range consumers.Info() {
		n := int(info.NumPending) + info.NumAckPending //nolint:gosec // a count of messages
		total += n
		if n > 0 {
			where[info.Name] = n
		}
	}
	require.NoError(b, consumers.Err())
	return total, where
}

// eventLagAfterLoad returns the lag right after a load stopped and how long it took
// to reach zero (at most a minute; a benchmark that lags longer says so).
func eventLagAfterLoad(b *testing.B, p eventLagProbe) (int, time.Duration) {
	stopped := time.Now()
	atStop, where := p.lag(b)
	for n := atStop; n > 0; n, where = p.lag(b) {
		if time.Since(stopped) > time.Minute {
			b.Errorf("%d events still unhandled a minute after the load stopped: %v", n, where)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return atStop, time.Since(stopped)
}
