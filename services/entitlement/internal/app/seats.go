package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

func parseReservationID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, errs.Invalid("reservation_id", "must be a UUID")
	}
	return id, nil
}

// Reservation lease bounds: a holder confirms or releases within seconds; the lease
// only matters when it died and never came back (DESIGN decision 3).
const (
	DefaultReservationTTL = 15 * time.Minute
	minReservationTTL     = time.Second
	maxReservationTTL     = 24 * time.Hour
)

// ReserveInput is a request for seats as a holder sends it.
type ReserveInput struct {
	ReservationID string
	ActivationID  string
	Quantity      int64
	Holder        string
	// AccountIDs restricts the line items it may draw from; empty: any.
	AccountIDs []string
	TTL        time.Duration // 0: DefaultReservationTTL
	Start      time.Time     // term start to record if it starts the term (zero: now)
	Replaces   string
}

// ReserveRequest is a checked ReserveInput.
type ReserveRequest struct {
	Reservation Reservation
	AccountIDs  []string
}

// check validates the input, naming fields under prefix.
func (in ReserveInput) check(v *errs.Violations, prefix string) ReserveRequest {
	id, err := uuid.Parse(in.ReservationID)
	if err != nil {
		v.Add(prefix+"reservation_id", "must be a UUID")
	}
	v.Require(prefix+"activation_id", in.ActivationID)
	v.Require(prefix+"holder", in.Holder)
	var replaced *uuid.UUID
	if in.Replaces != "" {
		if old, err := uuid.Parse(in.Replaces); err != nil {
			v.Add(prefix+"replaces", "must be a UUID")
		} else if old == id {
			v.Add(prefix+"replaces", "cannot be the reservation itself")
		} else {
			replaced = &old
		}
	}
	if in.Quantity < 0 || (in.Quantity == 0 && replaced == nil) {
		v.Add(prefix+"quantity", "must be positive (0 only when replacing a reservation)")
	}
	ttl := in.TTL
	if ttl == 0 {
		ttl = DefaultReservationTTL
	} else if ttl < minReservationTTL || ttl > maxReservationTTL {
		v.Add(prefix+"ttl", "must be between %s and %s", minReservationTTL, maxReservationTTL)
	}
	return ReserveRequest{
		Reservation: Reservation{ID: id, ActivationID: in.ActivationID, Quantity: in.Quantity, Holder: in.Holder, ExpireTime: time.Now().Add(ttl), Start: in.Start, Replaces: replaced},
		AccountIDs:  in.AccountIDs,
	}
}

// ReserveSeats holds seats of a line item for the calling service (SPEC ENT-5) for
// its TTL unless it is confirmed or released first.
func (a *App) ReserveSeats(ctx context.Context, in ReserveInput) (Reservation, error) {
	var v errs.Violations
	req := in.check(&v, "")
	if err := v.Err(); err != nil {
		return Reservation{}, err
	}
	tenant := authz.MustTenant(ctx)
	r, err := a.store.Reserve(ctx, tenant, req.Reservation, req.AccountIDs)
	if err == nil && r.Applied {
		a.counters.seatsReserved.Add(ctx, r.Quantity, tenantAttr(tenant))
	}
	return r, err
}

// maxBatch bounds the entries of one batch call.
const maxBatch = 1000

// BatchReserveSeats holds seats for many new reservations in one transaction; each
// is answered on its own (refused[i] is why entry i took nothing). A malformed entry
// refuses the whole call.
func (a *App) BatchReserveSeats(ctx context.Context, ins []ReserveInput) (reserved []Reservation, refused []error, err error) {
	var v errs.Violations
	if len(ins) == 0 || len(ins) > maxBatch {
		v.Add("reservations", "give 1-%d reservations", maxBatch)
	}
	reqs := make([]ReserveRequest, len(ins))
	for i, in := range ins {
		prefix := fmt.Sprintf("reservations[%d].", i)
		reqs[i] = in.check(&v, prefix)
		if in.Replaces != "" {
			v.Add(prefix+"replaces", "replacing reservations are made one by one, with ReserveSeats")
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	tenant := authz.MustTenant(ctx)
	reserved, refused, err = a.store.ReserveMany(ctx, tenant, reqs)
	if err != nil {
		return nil, nil, err
	}
	var taken int64
	for _, r := range reserved {
		if r.Applied {
			taken += r.Quantity
		}
	}
	a.counters.seatsReserved.Add(ctx, taken, tenantAttr(tenant))
	return reserved, refused, nil
}

// ConfirmSeats makes a reservation permanent.
func (a *App) ConfirmSeats(ctx context.Context, reservationID string) (Reservation, error) {
	id, err := parseReservationID(reservationID)
	if err != nil {
		return Reservation{}, err
	}
	return a.store.Confirm(ctx, authz.MustTenant(ctx), id)
}

// BatchConfirmSeats confirms many reservations in one transaction; it answers each
// with nil or the reason it cannot be confirmed.
func (a *App) BatchConfirmSeats(ctx context.Context, reservationIDs []string) (map[uuid.UUID]error, error) {
	if len(reservationIDs) == 0 || len(reservationIDs) > maxBatch {
		return nil, errs.Invalid("reservation_ids", "give 1-%d reservation IDs", maxBatch)
	}
	ids := make([]uuid.UUID, len(reservationIDs))
	for i, s := range reservationIDs {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, errs.Invalid(fmt.Sprintf("reservation_ids[%d]", i), "must be a UUID")
		}
		ids[i] = id
	}
	return a.store.ConfirmMany(ctx, authz.MustTenant(ctx), ids)
}

// ReleaseSeats gives a reservation's seats back.
func (a *App) ReleaseSeats(ctx context.Context, reservationID string) (Reservation, error) {
	id, err := parseReservationID(reservationID)
	if err != nil {
		return Reservation{}, err
	}
	p, _ := authz.FromContext(ctx)
	r, err := a.store.Release(ctx, p.GetTenantId(), id, p.GetService())
	if err == nil && r.Applied {
		a.counters.seatsReleased.Add(ctx, r.Quantity, tenantAttr(p.GetTenantId()))
	}
	return r, err
}

// ExpireReservations releases, in batches, the reservations whose holders never
// confirmed or released them before their expire time; it returns how many.
func (a *App) ExpireReservations(ctx context.Context, log *slog.Logger) (int, error) {
	total := 0
	for {
		batch, err := a.store.ExpireReservations(ctx, time.Now(), 500)
		if err != nil {
			return total, err
		}
		for _, r := range batch {
			a.counters.seatsReleased.Add(ctx, r.Quantity, tenantAttr(r.TenantID))
			a.counters.reservationsExpired.Add(ctx, 1, tenantAttr(r.TenantID))
			log.WarnContext(ctx, "seat reservation expired unconfirmed; seats given back",
				"tenant", r.TenantID, "reservation", r.ID, "activation_id", r.ActivationID, "quantity", r.Quantity, "holder", r.Holder)
		}
		total += len(batch)
		if len(batch) < 500 {
			return total, nil
		}
	}
}

// RunReservationReconciler expires overdue reservations every interval until ctx ends.
func (a *App) RunReservationReconciler(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.ExpireReservations(ctx, log); err != nil && ctx.Err() == nil {
			log.Warn("expiring seat reservations failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ListAuditEvents pages through the tenant's audit trail of entitlement changes.
func (a *App) ListAuditEvents(ctx context.Context, q filter.Query) ([]events.AuditEvent, string, error) {
	return a.store.ListAuditEvents(ctx, authz.MustTenant(ctx), q)
}
