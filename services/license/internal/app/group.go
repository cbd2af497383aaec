package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Group commit: concurrent activations share their database work. Each activation
// reads, plans and signs on its own; the committer then takes every activation
// waiting and, per tenant, inserts all their seat claims at once and reserves all
// their seats with one call (one transaction in the entitlement service, which locks
// a hot line item once for the group); a second stage stores the fulfillments of all
// the groups reserved meanwhile in one transaction. The two stages overlap: while
// one group is stored, the next is reserved. Under load a group holds as many
// activations as arrived while the previous one was being handled, so the cost per
// activation falls as load rises; alone, an activation is a group of one and waits
// for nothing.
//
// Each activation stays all or nothing: one refused claim gives back the seats of
// its activation's other claims and leaves the others in the group alone, and if
// the shared transaction fails, every activation of the group is stored on its own,
// so each gets the answer it would have had alone.

// pendingActivation is one activation waiting for, then answered by, the committer.
type pendingActivation struct {
	ctx       context.Context // the caller's values, with its own deadline and no cancellation
	tenant    string
	requestID string
	fs        []Fulfillment
	cls       []ConsolidatedLicense
	claims    []seats.Claim // one per fulfillment
	result    ActivationResult
	err       error
	stored    bool // by this call, not by an earlier one with the request ID
	done      chan struct{}
}

// NewActivation is one activation's rows for the store.
type NewActivation struct {
	// Ctx carries the caller's identity for the audit trail.
	Ctx          context.Context
	RequestID    string
	Fulfillments []Fulfillment
	Consolidated []ConsolidatedLicense
}

const (
	// maxGroup bounds one group (a batch reservation takes up to 1,000 claims).
	maxGroup = 200
	// groupTimeout bounds the work of one activation once queued.
	groupTimeout = 30 * time.Second
)

// groupCommitter hands activations to the committer while it runs; when it does
// not (tests, shutdown), each activation is committed by its caller.
type groupCommitter struct {
	mu      sync.RWMutex
	running bool
	queue   chan *pendingActivation
}

// submit queues u, or commits it as a group of one when the committer is not
// running or is behind.
func (a *App) submit(u *pendingActivation) {
	g := &a.committer
	g.mu.RLock()
	if g.running {
		select {
		case g.queue <- u:
			g.mu.RUnlock()
			return
		default:
		}
	}
	g.mu.RUnlock()
	group := []*pendingActivation{u}
	a.storeGroup(a.reserveGroup(group))
}

// RunCommitter commits the activations of concurrent callers in groups until ctx
// ends, then finishes what is queued.
func (a *App) RunCommitter(ctx context.Context) error {
	g := &a.committer
	g.mu.Lock()
	g.queue, g.running = make(chan *pendingActivation, 4*maxGroup), true
	g.mu.Unlock()
	reserved := make(chan []*pendingActivation, 1)
	storing := make(chan struct{})
	go func() {
		defer close(storing)
		for group := range reserved {
			for more := true; more; { // take every group reserved meanwhile
				select {
				case next, ok := <-reserved:
					if !ok {
						more = false
						break
					}
					group = append(group, next...)
				default:
					more = false
				}
			}
			a.storeGroup(group)
		}
	}()
	reserve := func(first *pendingActivation) { reserved <- a.reserveGroup(fill(g.queue, first)) }
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case u := <-g.queue:
			reserve(u)
		}
	}
	g.mu.Lock()
	g.running = false // no one sends from here on: finish what was sent
	g.mu.Unlock()
	for drained := false; !drained; {
		select {
		case u := <-g.queue:
			reserve(u)
		default:
			drained = true
		}
	}
	close(reserved)
	<-storing
	return nil
}

// fill adds to first whatever else is queued, up to maxGroup: no waiting, so a lone
// activation is not slowed down.
func fill(queue chan *pendingActivation, first *pendingActivation) []*pendingActivation {
	group := []*pendingActivation{first}
	for len(group) < maxGroup {
		select {
		case u := <-queue:
			group = append(group, u)
		default:
			return group
		}
	}
	return group
}

// byTenant splits a group by tenant: claims, reservations and rows are per tenant.
func byTenant(group []*pendingActivation) map[string][]*pendingActivation {
	out := map[string][]*pendingActivation{}
	for _, u := range group {
		out[u.tenant] = append(out[u.tenant], u)
	}
	return out
}

// reserveGroup takes the seats of every activation in the group; the activations
// refused are answered, and those holding their seats are returned.
func (a *App) reserveGroup(group []*pendingActivation) []*pendingActivation {
	var held []*pendingActivation
	for tenant, us := range byTenant(group) {
		a.reserveTenantGroup(tenant, us)
		for _, u := range us {
			if u.err != nil {
				close(u.done)
			} else {
				held = append(held, u)
			}
		}
	}
	return held
}

func (a *App) reserveTenantGroup(tenant string, us []*pendingActivation) {
	ctx, cancel := context.WithTimeout(authz.ForTenant(us[0].ctx, tenant), groupTimeout)
	defer cancel()
	var claims []seats.Claim
	var owner []*pendingActivation
	for _, u := range us {
		claims = append(claims, u.claims...)
		for range u.claims {
			owner = append(owner, u)
		}
	}
	refused := a.seats.BeginMany(ctx, claims)
	for k, err := range refused {
		if err != nil && owner[k].err == nil {
			owner[k].err = err
		}
	}
	for k, err := range refused { // all or nothing: a failed activation gives back what it got
		if err == nil && owner[k].err != nil {
			a.seats.Abort(ctx, tenant, claims[k].ID)
		}
	}
}

// storeGroup stores the activations of a group whose seats are held, confirms their
// seats and answers them.
func (a *App) storeGroup(group []*pendingActivation) {
	for tenant, us := range byTenant(group) {
		a.storeTenantGroup(tenant, us)
		for _, u := range us {
			close(u.done)
		}
	}
}

func (a *App) storeTenantGroup(tenant string, us []*pendingActivation) {
	ctx, cancel := context.WithTimeout(authz.ForTenant(us[0].ctx, tenant), groupTimeout)
	defer cancel()
	rows := make([]NewActivation, len(us))
	for i, u := range us {
		rows[i] = NewActivation{Ctx: u.ctx, RequestID: u.requestID, Fulfillments: u.fs, Consolidated: u.cls}
	}
	if err := a.store.CreateActivations(ctx, tenant, rows); err != nil {
		for _, u := range us {
			a.storeAlone(u)
		}
	} else {
		for _, u := range us {
			u.result, u.stored = ActivationResult{Fulfillments: u.fs, Consolidated: u.cls}, true
		}
	}
	attrs := metric.WithAttributes(attribute.String("tenant", tenant))
	for _, u := range us {
		if !u.stored {
			continue
		}
		for _, f := range u.fs {
			a.seats.Confirm(u.ctx, f.ClaimID)
			a.counters.activations.Add(u.ctx, 1, attrs)
			a.counters.activatedSeats.Add(u.ctx, f.Quantity, attrs)
		}
	}
}

// storeAlone stores one activation in its own transaction, after its group's shared
// one failed: a concurrent retry with the same request ID may have stored it first
// (its result is the answer), or this activation is the one that broke the group.
func (a *App) storeAlone(u *pendingActivation) {
	ctx := u.ctx
	err := a.store.CreateActivations(ctx, u.tenant, []NewActivation{{Ctx: u.ctx, RequestID: u.requestID, Fulfillments: u.fs, Consolidated: u.cls}})
	if err == nil {
		u.result, u.stored = ActivationResult{Fulfillments: u.fs, Consolidated: u.cls}, true
		return
	}
	if prev, prevCls, perr := a.store.FulfillmentsByRequest(ctx, u.tenant, u.requestID); perr == nil {
		u.result = ActivationResult{Fulfillments: prev, Consolidated: prevCls}
		return
	}
	if !errors.Is(err, seats.ErrClaimReleased) {
		for _, c := range u.claims {
			a.seats.Abort(ctx, u.tenant, c.ID)
		}
	}
	u.err = err
}
