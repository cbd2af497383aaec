package schedule

import (
	"context"
	"testing"
	"time"
)

// The due time is never in the future, at most a day old, and at the job's time of
// day, whatever the clock reads and in whatever zone.
func FuzzDueAt(f *testing.F) {
	f.Add(int64(0), int64(10*time.Hour), 0)
	f.Add(time.Date(2026, 3, 29, 9, 59, 59, 999999999, time.UTC).UnixNano(), int64(10*time.Hour), 3600)
	f.Add(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC).UnixNano(), int64(0), -36000)
	f.Fuzz(func(t *testing.T, nanos, at int64, offset int) {
		job := Daily{Name: "x", At: time.Duration(at), Run: func(context.Context, time.Time) error { return nil }}
		if job.validate() != nil {
			return
		}
		now := time.Unix(0, nanos).In(time.FixedZone("z", offset%86400))
		due := job.dueAt(now)
		if due.After(now) || now.Sub(due) >= 24*time.Hour {
			t.Fatalf("now %s: due %s", now, due)
		}
		if tod := due.Sub(due.Truncate(24 * time.Hour)); tod != job.At {
			t.Fatalf("now %s: due %s is at %s of its day, not %s", now, due, tod, job.At)
		}
	})
}
