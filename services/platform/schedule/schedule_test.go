package schedule_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
	"github.com/tessera-dev/tessera/services/platform/schedule"
)

const jobName = "test.sweep"

// day0 is a Monday in the tests' calendar; times are UTC.
var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(day int, hh, mm int) time.Time {
	return day0.AddDate(0, 0, day).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// newDatabase returns the URL of a fresh database holding the scheduled_runs table.
func newDatabase(t *testing.T) string {
	t.Helper()
	sets := []pg.MigrationSet{schedule.Migrations()}
	return pgtest.NewDatabase(t, pgtest.Template{Name: pgtest.NameOf("schedule", sets...), Migrate: func(ctx context.Context, url string) error {
		pool, err := pg.Connect(ctx, url, "sched", 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pg.Migrate(ctx, pool, "sched", sets...)
	}})
}

// replica is one process's pool and scheduler; each has its own connections.
type replica struct {
	pool  *pgxpool.Pool
	sched *schedule.Scheduler
	stop  context.CancelFunc
	done  chan error
}

func startReplica(t *testing.T, url string, clock schedule.Clock, job schedule.Daily, opts ...schedule.Option) *replica {
	t.Helper()
	pool, err := pg.Connect(t.Context(), url, "sched", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s := schedule.New(pool, slog.Default(), append([]schedule.Option{schedule.WithClock(clock)}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{pool: pool, sched: s, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, job) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// shutdown stops the replica and waits for its scheduler to return.
func (r *replica) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok {
			require.NoError(t, err)
			close(r.done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler did not stop when its context ended")
	}
}

// recorder is a job that remembers each run's clock reading; gate, when set, holds
// every run until it is closed or the run is cancelled.
type recorder struct {
	mu   sync.Mutex
	runs []time.Time
	gate chan struct{}
	fail func(n int) error
}

func (r *recorder) job() schedule.Daily {
	return schedule.Daily{Name: jobName, At: 10 * time.Hour, Run: func(ctx context.Context, now time.Time) error {
		r.mu.Lock()
		r.runs = append(r.runs, now)
		n, gate, fail := len(r.runs), r.gate, r.fail
		r.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if fail != nil {
			return fail(n)
		}
		return nil
	}}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

func (r *recorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.runs...)
}

func waitRuns(t *testing.T, r *recorder, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return r.count() >= n }, 10*time.Second, 5*time.Millisecond, "waiting for run %d", n)
	require.Equal(t, n, r.count())
}

// sleeping waits until at least n waits are pending on the clock.
func sleeping(t *testing.T, c *schedule.ManualClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.WaitFor(ctx, n), "the schedulers never went to sleep")
}

type row struct {
	Day      string
	State    string
	Attempts int
}

func rows(t *testing.T, pool *pgxpool.Pool) []row {
	t.Helper()
	rs, err := pool.Query(t.Context(), `SELECT to_char(run_date, 'YYYY-MM-DD'), state, attempts FROM scheduled_runs WHERE job = $1 ORDER BY run_date`, jobName)
	require.NoError(t, err)
	var out []row
	for rs.Next() {
		var x row
		require.NoError(t, rs.Scan(&x.Day, &x.State, &x.Attempts))
		out = append(out, x)
	}
	require.NoError(t, rs.Err())
	return out
}

func waitState(t *testing.T, pool *pgxpool.Pool, day time.Time, state string) {
	t.Helper()
	want := day.Format(time.DateOnly)
	require.Eventually(t, func() bool {
		for _, r := range rows(t, pool) {
			if r.Day == want && r.State == state {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "waiting for %s to be %s", want, state)
}

// Crossing 10:00 UTC runs the job once, with the clock's time; nothing runs before,
// nothing again the same day, and the next day's 10:00 runs it again.
func TestDailyJobRunsOnceWhenTheClockCrossesItsTime_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 50))
	rec := &recorder{}
	r := startReplica(t, url, clock, rec.job())

	sleeping(t, clock, 1)
	require.Zero(t, rec.count(), "a job that never ran waits for its time instead of running at start")
	clock.Set(at(0, 9, 59))
	sleeping(t, clock, 1)
	require.Zero(t, rec.count())

	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, r.pool, at(0, 0, 0), "done")
	for _, later := range []time.Time{at(0, 10, 30), at(0, 23, 59), at(1, 9, 59)} {
		sleeping(t, clock, 1)
		clock.Set(later)
	}
	sleeping(t, clock, 1)
	require.Equal(t, 1, rec.count(), "once a day")

	clock.Set(at(1, 10, 0))
	waitRuns(t, rec, 2)
	waitState(t, r.pool, at(1, 0, 0), "done")
	r.shutdown(t)
	require.Equal(t, []time.Time{at(0, 10, 0), at(1, 10, 0)}, rec.times())
	require.Equal(t, []row{{"2026-03-02", "done", 1}, {"2026-03-03", "done", 1}}, rows(t, r.pool))
}

// Several replicas, each with its own pool, run each day once between them, while
// the others see the day taken and sleep.
func TestDailyJobRunsOnceAcrossReplicas_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 0))
	rec := &recorder{gate: make(chan struct{})}
	const n = 4
	replicas := make([]*replica, n)
	for i := range replicas {
		replicas[i] = startReplica(t, url, clock, rec.job())
	}
	sleeping(t, clock, n)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, replicas[0].pool, at(0, 0, 0), "running")
	// The run holds its lease (one renewal wait) while the other replicas sleep.
	sleeping(t, clock, n)
	require.Equal(t, 1, rec.count())
	close(rec.gate)
	waitState(t, replicas[0].pool, at(0, 0, 0), "done")

	clock.Set(at(0, 10, 30)) // past the lease: the others look again and find it done
	sleeping(t, clock, n)
	clock.Set(at(1, 10, 0))
	waitRuns(t, rec, 2)
	waitState(t, replicas[0].pool, at(1, 0, 0), "done")
	for _, r := range replicas {
		r.shutdown(t)
	}
	require.Equal(t, 2, rec.count())
	require.Equal(t, []row{{"2026-03-02", "done", 1}, {"2026-03-03", "done", 1}}, rows(t, replicas[0].pool))
}

// A new scheduler over the same database (a restart) does not repeat a day that
// is done.
func TestRestartAfterADoneRunDoesNotRunAgain_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 59))
	rec := &recorder{}
	first := startReplica(t, url, clock, rec.job())
	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, first.pool, at(0, 0, 0), "done")
	first.shutdown(t)

	clock.Set(at(0, 10, 5))
	second := startReplica(t, url, clock, rec.job())
	sleeping(t, clock, 1)
	clock.Set(at(0, 23, 0))
	sleeping(t, clock, 1)
	require.Equal(t, 1, rec.count(), "the restarted scheduler found the day done")
	clock.Set(at(1, 10, 0))
	waitRuns(t, rec, 2)
	waitState(t, second.pool, at(1, 0, 0), "done")
	second.shutdown(t)
	require.Equal(t, 2, rec.count())
}

// A replica that dies mid-run leaves its day running under a lease; a restarted
// scheduler waits for the lease to run out, then runs the day again.
func TestCrashMidRunIsTakenOverAfterTheLease_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 59))
	rec := &recorder{gate: make(chan struct{})}
	crashed := startReplica(t, url, clock, rec.job())
	lease := crashed.sched.Lease
	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, crashed.pool, at(0, 0, 0), "running")
	// The process dies: its connections are gone, so it records nothing more.
	crashed.pool.Close()
	crashed.shutdown(t)
	require.Eventually(t, func() bool { return clock.Waiting() == 0 }, 5*time.Second, time.Millisecond)

	rec.mu.Lock()
	rec.gate = nil
	rec.mu.Unlock()
	clock.Set(at(0, 10, 2))
	restarted := startReplica(t, url, clock, rec.job())
	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0).Add(lease - time.Second))
	sleeping(t, clock, 1)
	require.Equal(t, 1, rec.count(), "the lease still holds")
	clock.Set(at(0, 10, 0).Add(lease))
	waitRuns(t, rec, 2)
	waitState(t, restarted.pool, at(0, 0, 0), "done")
	restarted.shutdown(t)
	require.Equal(t, []time.Time{at(0, 10, 0), at(0, 10, 0).Add(lease)}, rec.times())
	require.Equal(t, []row{{"2026-03-02", "done", 2}}, rows(t, restarted.pool))
}

// A run that takes longer than its lease keeps it by renewing: the other replica
// never starts the day a second time.
func TestALongRunKeepsItsLease_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 59))
	rec := &recorder{gate: make(chan struct{})}
	a := startReplica(t, url, clock, rec.job())
	b := startReplica(t, url, clock, rec.job())
	lease := a.sched.Lease
	sleeping(t, clock, 2)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	for now := at(0, 10, 0); now.Before(at(0, 10, 0).Add(3 * lease)); now = now.Add(lease / 10) {
		sleeping(t, clock, 2) // the run's renewal and the other replica's wait
		clock.Set(now)
	}
	sleeping(t, clock, 2)
	require.Equal(t, 1, rec.count())
	close(rec.gate)
	waitState(t, a.pool, at(0, 0, 0), "done")
	a.shutdown(t)
	b.shutdown(t)
	require.Equal(t, 1, rec.count())
	require.Equal(t, []row{{"2026-03-02", "done", 1}}, rows(t, a.pool))
}

// Days missed while every replica was down: the next start runs the latest of them
// at once (not the backlog), then keeps the daily time.
func TestMissedDayIsCaughtUpAtTheNextStart_DEV7(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 59))
	rec := &recorder{}
	first := startReplica(t, url, clock, rec.job())
	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, first.pool, at(0, 0, 0), "done")
	first.shutdown(t)

	clock.Set(at(3, 9, 0)) // down through days 1 and 2
	second := startReplica(t, url, clock, rec.job())
	waitRuns(t, rec, 2)
	waitState(t, second.pool, at(2, 0, 0), "done")
	sleeping(t, clock, 1)
	require.Equal(t, 2, rec.count(), "one catch-up run, not one per missed day")
	clock.Set(at(3, 10, 0))
	waitRuns(t, rec, 3)
	waitState(t, second.pool, at(3, 0, 0), "done")
	second.shutdown(t)
	require.Equal(t, []time.Time{at(0, 10, 0), at(3, 9, 0), at(3, 10, 0)}, rec.times())
	require.Equal(t, []row{{"2026-03-02", "done", 1}, {"2026-03-04", "done", 1}, {"2026-03-05", "done", 1}}, rows(t, second.pool))
}

// A failed run is retried after RetryAfter; runs are counted by outcome and the
// last success is recorded.
func TestFailedRunIsRetriedAndCounted(t *testing.T) {
	url := newDatabase(t)
	clock := schedule.NewManualClock(at(0, 9, 59))
	reader := sdkmetric.NewManualReader()
	rec := &recorder{fail: func(n int) error {
		if n == 1 {
			return errors.New("database hiccup\x00\xff")
		}
		return nil
	}}
	r := startReplica(t, url, clock, rec.job(), schedule.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	retry := r.sched.RetryAfter
	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0))
	waitRuns(t, rec, 1)
	waitState(t, r.pool, at(0, 0, 0), "failed")
	var lastError string
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT last_error FROM scheduled_runs`).Scan(&lastError))
	require.Equal(t, "database hiccup", lastError, "stored without the NUL byte and the invalid UTF-8")

	sleeping(t, clock, 1)
	clock.Set(at(0, 10, 0).Add(retry - time.Second))
	sleeping(t, clock, 1)
	require.Equal(t, 1, rec.count())
	clock.Set(at(0, 10, 0).Add(retry))
	waitRuns(t, rec, 2)
	waitState(t, r.pool, at(0, 0, 0), "done")
	r.shutdown(t)
	require.Equal(t, []row{{"2026-03-02", "done", 2}}, rows(t, r.pool))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	runs := map[string]int64{}
	var last int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case "tessera.schedule.runs":
				for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
					outcome, _ := p.Attributes.Value("outcome")
					runs[outcome.AsString()] += p.Value
				}
			case "tessera.schedule.last_success":
				for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					last = p.Value
				}
			}
		}
	}
	require.Equal(t, map[string]int64{"success": 1, "failure": 1}, runs)
	require.Equal(t, at(0, 10, 0).Add(retry).Unix(), last)
}

// A job that is not well formed is refused before anything runs.
func TestMalformedJobsAreRefused(t *testing.T) {
	s := schedule.New(nil, slog.Default())
	run := func(context.Context, time.Time) error { return nil }
	for _, j := range []schedule.Daily{
		{At: time.Hour, Run: run},
		{Name: "x", At: -time.Minute, Run: run},
		{Name: "x", At: 24 * time.Hour, Run: run},
		{Name: "x", At: time.Hour},
	} {
		require.Error(t, s.Run(t.Context(), j), "%+v", j)
	}
}
