package seats

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
)

// Shared calls: with Ledger.Share set, concurrent BeginMany and ConfirmNow calls of
// one tenant share their round trips (group commit, as the license service's
// activations do in their own committer). A call arriving while none of its tenant
// runs runs at once, alone; calls arriving meanwhile wait and then run together as
// one, answered each as it would have been alone. On a hot line item this turns one
// entitlement transaction per call, each holding the line item's row lock through
// its commit, into one per group.

// shareTimeout bounds the work of one shared round.
const shareTimeout = 30 * time.Second

// maxShared bounds the calls run together (a batch reservation takes up to 1,000
// claims; maxReserveBatch chunks the rest).
const maxShared = 200

// sharedCall is one caller's work, answered in place.
type sharedCall[T any] struct {
	ctx  context.Context
	work T
	done chan struct{}
}

// sharer runs the calls of each tenant one round at a time.
type sharer[T any] struct {
	mu      sync.Mutex
	waiting map[string][]*sharedCall[T] // tenant → calls queued behind a running round
	running map[string]bool
}

// do runs work through run, alone or with calls that queued meanwhile, and returns
// when it was answered.
func (s *sharer[T]) do(ctx context.Context, tenant string, work T, run func(ctx context.Context, tenant string, works []T)) {
	c := &sharedCall[T]{ctx: ctx, work: work, done: make(chan struct{})}
	s.mu.Lock()
	if s.running == nil {
		s.running, s.waiting = map[string]bool{}, map[string][]*sharedCall[T]{}
	}
	if s.running[tenant] {
		s.waiting[tenant] = append(s.waiting[tenant], c)
		s.mu.Unlock()
		<-c.done
		return
	}
	s.running[tenant] = true
	s.mu.Unlock()
	s.round(tenant, []*sharedCall[T]{c}, run)
	<-c.done
}

// round runs group, then hands the calls that queued meanwhile to a round of their
// own (on another goroutine: the caller that ran this round is answered now).
func (s *sharer[T]) round(tenant string, group []*sharedCall[T], run func(context.Context, string, []T)) {
	ctx, cancel := context.WithTimeout(authz.ForTenant(context.WithoutCancel(group[0].ctx), tenant), shareTimeout)
	works := make([]T, len(group))
	for i, c := range group {
		works[i] = c.work
	}
	run(ctx, tenant, works)
	cancel()
	for _, c := range group {
		close(c.done)
	}
	s.mu.Lock()
	next := s.waiting[tenant]
	if len(next) == 0 {
		delete(s.running, tenant)
		delete(s.waiting, tenant)
		s.mu.Unlock()
		return
	}
	if len(next) > maxShared {
		s.waiting[tenant] = next[maxShared:]
		next = next[:maxShared]
	} else {
		delete(s.waiting, tenant)
	}
	s.mu.Unlock()
	go s.round(tenant, next, run)
}

// beginWork is one BeginMany call and its answer.
type beginWork struct {
	claims []Claim
	out    []error
}

// beginShared begins the claims of several BeginMany calls of one tenant as one:
// one insert of the claims and one batch reservation. Calls that name a claim twice
// between them (concurrent retries of one request) or whose shared call failed as
// a whole (one malformed claim refuses a batch) are run one by one instead, so each
// gets the answer it would have had alone.
func (l *Ledger) beginShared(ctx context.Context, _ string, works []*beginWork) {
	if len(works) > 1 && !namesAClaimTwice(works) {
		var all []Claim
		for _, w := range works {
			all = append(all, w.claims...)
		}
		out, whole := l.beginMany(ctx, all, true)
		if whole == nil {
			for _, w := range works {
				w.out, out = out[:len(w.claims):len(w.claims)], out[len(w.claims):]
			}
			return
		}
	}
	for _, w := range works {
		w.out = l.beginManyOrFail(ctx, w.claims)
	}
}

func namesAClaimTwice(works []*beginWork) bool {
	seen := map[uuid.UUID]bool{}
	for _, w := range works {
		for _, c := range w.claims {
			if seen[c.ID] {
				return true
			}
			seen[c.ID] = true
		}
	}
	return false
}

// confirmShared confirms the claims of several ConfirmNow calls of one tenant with
// one BatchConfirmSeats call and one update of the claims.
func (l *Ledger) confirmShared(ctx context.Context, tenant string, ids []uuid.UUID) {
	batch := make([]pendingConfirm, len(ids))
	for i, id := range ids {
		batch[i] = pendingConfirm{tenant: tenant, id: id}
	}
	l.confirmBatch(ctx, batch)
}
