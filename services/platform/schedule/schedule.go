// Package schedule runs daily jobs once a day across all replicas of a service, in a
// way that survives restarts: each day of a job is a row of scheduled_runs in the
// service's schema, taken by one replica under a lease and marked done on success.
//
//   - A replica takes a day by inserting its row; the others see it taken and sleep.
//   - A replica that dies mid-run stops renewing its lease; once the lease runs out
//     another replica (or the restarted one) runs the day again. Jobs must therefore
//     be safe to run twice, as a sweep over "everything due by now" is.
//   - A failed run is retried after RetryAfter until the next day is due.
//   - A day missed while every replica was down runs at the next start; only the
//     latest missed day, never a backlog. A job that has never run starts at its
//     next due time.
package schedule

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"

	"github.com/tessera-dev/tessera/services/platform/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the scheduled_runs table in the service's schema.
func Migrations() pg.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return pg.MigrationSet{Name: "schedule", Files: sub}
}

// Daily is a job run once a day at At past midnight UTC.
type Daily struct {
	// Name identifies the job's rows, e.g. "device.expire_overrides".
	Name string
	// At is the time of day, UTC: 10*time.Hour runs at 10:00.
	At time.Duration
	// Run does the day's work; now is the scheduler's clock when the run starts.
	Run func(ctx context.Context, now time.Time) error
}

func (d Daily) validate() error {
	switch {
	case d.Name == "":
		return errors.New("schedule: a daily job needs a name")
	case d.At < 0 || d.At >= 24*time.Hour:
		return fmt.Errorf("schedule: job %s: the time of day %s is not within a day", d.Name, d.At)
	case d.Run == nil:
		return fmt.Errorf("schedule: job %s has no Run", d.Name)
	}
	return nil
}

// dueAt is the latest time the job was due at or before now.
func (d Daily) dueAt(now time.Time) time.Time {
	now = now.UTC()
	due := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(d.At)
	if due.After(now) {
		due = due.AddDate(0, 0, -1)
	}
	return due
}

// Scheduler runs daily jobs over the scheduled_runs table of pool's schema.
type Scheduler struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	clock Clock
	owner string
	// Lease is how long a run is held without renewal; the holder renews it every
	// third of it, so only a replica that stopped (died, lost the database) loses it.
	Lease time.Duration
	// RetryAfter is the wait before a failed run is tried again.
	RetryAfter time.Duration
	// MaxSleep bounds one wait, so that a wall clock that jumps is noticed.
	MaxSleep time.Duration

	runs        metric.Int64Counter
	lastSuccess metric.Int64Gauge
}

// Option tunes New.
type Option func(*options)

type options struct {
	clock  Clock
	meters metric.MeterProvider
}

// WithClock drives the scheduler from c instead of the wall clock.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithMeterProvider sends the scheduler's metrics to mp (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.meters = mp } }

const instrumentation = "github.com/tessera-dev/tessera/services/platform/schedule"

// New returns a scheduler over pool (search path: the service's schema).
func New(pool *pgxpool.Pool, log *slog.Logger, opts ...Option) *Scheduler {
	o := options{clock: SystemClock{}, meters: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	meter := o.meters.Meter(instrumentation)
	runs, _ := meter.Int64Counter("tessera.schedule.runs",
		metric.WithDescription("Runs of daily jobs, by job and outcome (success, failure)"),
		metric.WithUnit("{run}"))
	last, _ := meter.Int64Gauge("tessera.schedule.last_success",
		metric.WithDescription("When a daily job last succeeded on this replica, in Unix seconds"),
		metric.WithUnit("s"))
	host, _ := os.Hostname()
	return &Scheduler{
		pool: pool, log: log, clock: o.clock, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8]),
		Lease: 10 * time.Minute, RetryAfter: time.Minute, MaxSleep: time.Hour,
		runs: runs, lastSuccess: last,
	}
}

// Run runs the jobs until ctx ends; it returns an error only for a job that is not
// well formed.
func (s *Scheduler) Run(ctx context.Context, jobs ...Daily) error {
	for _, j := range jobs {
		if err := j.validate(); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		started := s.clock.Now()
		g.Go(func() error { s.loop(ctx, j, started); return nil })
	}
	return g.Wait()
}

func (s *Scheduler) loop(ctx context.Context, job Daily, started time.Time) {
	log := s.log.With("job", job.Name)
	for ctx.Err() == nil {
		now := s.clock.Now()
		wake, err := s.step(ctx, job, started, now)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("scheduled job: cannot reach its state; will retry", "err", err)
			wake = now.Add(s.RetryAfter)
		}
		if limit := now.Add(s.MaxSleep); wake.After(limit) {
			wake = limit
		}
		wait, cancel := context.WithCancel(ctx)
		select {
		case <-ctx.Done():
		case <-s.clock.At(wait, wake):
		}
		cancel()
	}
}

// step runs the job's latest due day if it is this replica's to run, and says when
// to look again.
func (s *Scheduler) step(ctx context.Context, job Daily, started, now time.Time) (time.Time, error) {
	due := job.dueAt(now)
	next := due.AddDate(0, 0, 1)
	day := due.Truncate(24 * time.Hour)
	if due.Before(started) {
		// Due before this scheduler started: a missed day, if the job ran before.
		var ran bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scheduled_runs WHERE job = $1)`, job.Name).Scan(&ran); err != nil {
			return time.Time{}, err
		}
		if !ran {
			return next, nil
		}
	}
	var attempt int
	err := s.pool.QueryRow(ctx, `INSERT INTO scheduled_runs AS r (job, run_date, state, owner, started_at, lease_until)
		VALUES ($1, $2, 'running', $3, $4, $5)
		ON CONFLICT (job, run_date) DO UPDATE
			SET state = 'running', owner = excluded.owner, attempts = r.attempts + 1,
				started_at = excluded.started_at, lease_until = excluded.lease_until
			WHERE r.state <> 'done' AND r.lease_until <= excluded.started_at
		RETURNING attempts`, job.Name, day, s.owner, now, now.Add(s.Lease)).Scan(&attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		// Done, or held by another replica (or waiting for its retry).
		var state string
		var until time.Time
		if err := s.pool.QueryRow(ctx, `SELECT state, lease_until FROM scheduled_runs WHERE job = $1 AND run_date = $2`, job.Name, day).
			Scan(&state, &until); err != nil {
			return time.Time{}, err
		}
		if state == "done" || !until.Before(next) {
			return next, nil
		}
		return until, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return s.execute(ctx, job, day, attempt, next)
}

// execute runs a claimed day, renewing its lease meanwhile, and records the outcome.
func (s *Scheduler) execute(ctx context.Context, job Daily, day time.Time, attempt int, next time.Time) (time.Time, error) {
	log := s.log.With("job", job.Name, "day", day.Format(time.DateOnly), "attempt", attempt)
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	held := make(chan struct{})
	go func() { defer close(held); s.holdLease(runCtx, stop, job.Name, day) }()
	start := s.clock.Now()
	runErr := job.Run(runCtx, start)
	lost := context.Cause(runCtx)
	stop(nil)
	<-held
	end := s.clock.Now()
	// Record the outcome even while shutting down: a finished run is not repeated.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	attrs := func(outcome string) metric.MeasurementOption {
		return metric.WithAttributes(attribute.String("job", job.Name), attribute.String("outcome", outcome))
	}
	switch {
	case errors.Is(lost, errLeaseLost):
		log.Warn("scheduled job: lost its lease while running; another replica runs the day")
		return end, nil
	case runErr == nil:
		tag, err := s.pool.Exec(rec, `UPDATE scheduled_runs SET state = 'done', finished_at = $4, last_error = ''
			WHERE job = $1 AND run_date = $2 AND owner = $3`, job.Name, day, s.owner, end)
		if err != nil {
			return end, fmt.Errorf("recording the run of %s as done: %w", job.Name, err)
		}
		if tag.RowsAffected() == 0 {
			log.Warn("scheduled job: finished after another replica took it over")
		}
		s.runs.Add(rec, 1, attrs("success"))
		s.lastSuccess.Record(rec, end.Unix(), metric.WithAttributes(attribute.String("job", job.Name)))
		log.Info("scheduled job done", "took", end.Sub(start))
		return next, nil
	case ctx.Err() != nil:
		// Shutting down mid-run: hand the day to whichever replica looks next.
		_, err := s.pool.Exec(rec, `UPDATE scheduled_runs SET state = 'failed', lease_until = $4, last_error = 'interrupted by shutdown'
			WHERE job = $1 AND run_date = $2 AND owner = $3 AND state = 'running'`, job.Name, day, s.owner, end)
		return end, err
	default:
		retry := end.Add(s.RetryAfter)
		s.runs.Add(rec, 1, attrs("failure"))
		log.Warn("scheduled job failed; will retry", "err", runErr, "retry_at", retry)
		_, err := s.pool.Exec(rec, `UPDATE scheduled_runs SET state = 'failed', lease_until = $4, last_error = $5
			WHERE job = $1 AND run_date = $2 AND owner = $3 AND state = 'running'`, job.Name, day, s.owner, retry, storable(runErr.Error(), 2000))
		if retry.After(next) {
			retry = next
		}
		return retry, err
	}
}

var errLeaseLost = errors.New("schedule: the run's lease was lost")

// holdLease renews the run's lease every third of it until ctx ends. If the lease
// runs out unrenewed or another replica took the day, the run is stopped.
func (s *Scheduler) holdLease(ctx context.Context, stop context.CancelCauseFunc, job string, day time.Time) {
	until := s.clock.Now().Add(s.Lease)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.At(ctx, s.clock.Now().Add(s.Lease/3)):
		}
		now := s.clock.Now()
		tag, err := s.pool.Exec(ctx, `UPDATE scheduled_runs SET lease_until = $4
			WHERE job = $1 AND run_date = $2 AND owner = $3 AND state = 'running'`, job, day, s.owner, now.Add(s.Lease))
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && tag.RowsAffected() == 1:
			until = now.Add(s.Lease)
		case err == nil:
			stop(errLeaseLost)
			return
		case !now.Before(until):
			s.log.Warn("scheduled job: could not renew its lease in time", "job", job, "err", err)
			stop(errLeaseLost)
			return
		default:
			s.log.Warn("scheduled job: renewing its lease failed; will retry", "job", job, "err", err)
		}
	}
}

// storable shortens an error message to at most n bytes of valid UTF-8 without NUL
// bytes, which a text column refuses.
func storable(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
}
