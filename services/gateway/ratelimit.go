package gateway

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// limiter is a set of token buckets, one per key (an IP, a user, a token). Idle
// buckets are dropped so that the set stays small.
type limiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newLimiter allows perPeriod events per period per key, in bursts of perPeriod.
// perPeriod 0 turns the limiter off.
func newLimiter(perPeriod int, period time.Duration) *limiter {
	if perPeriod <= 0 {
		return nil
	}
	return &limiter{limit: rate.Limit(float64(perPeriod) / period.Seconds()), burst: perPeriod, buckets: map[string]*bucket{}}
}

// allow takes one event for key; when refused it says how long to wait.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			// A bucket idle long enough to be full again carries no state.
			if now.Sub(b.seen) > time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)) {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// tooMany is the refusal of a rate-limited request: 429 with Retry-After.
func tooMany(what string, wait time.Duration) *status.Status {
	secs := strconv.Itoa(int(math.Ceil(wait.Seconds())))
	st := status.New(codes.ResourceExhausted, "too many "+what+"; retry in "+secs+"s")
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "tessera.dev", Metadata: map[string]string{"retry_after_seconds": secs}})
	if err != nil {
		return st
	}
	return withInfo
}
