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

// ReserveSeats holds seats of a line item for the calling service (SPEC ENT-5) for
// ttl (0: the default) unless it is confirmed or released first.
func (a *App) ReserveSeats(ctx context.Context, reservationID, activationID string, quantity int64, holder string, accountIDs []string, ttl time.Duration, start time.Time, replaces string) (Reservation, error) {
	var v errs.Violations
	id, err := uuid.Parse(reservationID)
	if err != nil {
		v.Add("reservation_id", "must be a UUID")
	}
	v.Require("activation_id", activationID)
	v.Require("holder", holder)
	var replaced *uuid.UUID
	if replaces != "" {
		if old, err := uuid.Parse(replaces); err != nil {
			v.Add("replaces", "must be a UUID")
		} else if old == id {
			v.Add("replaces", "cannot be the reservation itself")
		} else {
			replaced = &old
		}
	}
	if quantity < 0 || (quantity == 0 && replaced == nil) {
		v.Add("quantity", "must be positive (0 only when replacing a reservation)")
	}
	if ttl == 0 {
		ttl = DefaultReservationTTL
	} else if ttl < minReservationTTL || ttl > maxReservationTTL {
		v.Add("ttl", "must be between %s and %s", minReservationTTL, maxReservationTTL)
	}
	if err := v.Err(); err != nil {
		return Reservation{}, err
	}
	tenant := authz.MustTenant(ctx)
	r, err := a.store.Reserve(ctx, tenant, Reservation{ID: id, ActivationID: activationID, Quantity: quantity, Holder: holder, ExpireTime: time.Now().Add(ttl), Start: start, Replaces: replaced}, accountIDs)
	if err == nil && r.Applied {
		seatsReserved.Add(ctx, quantity, tenantAttr(tenant))
	}
	return r, err
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
	if len(reservationIDs) == 0 || len(reservationIDs) > 1000 {
		return nil, errs.Invalid("reservation_ids", "give 1-1000 reservation IDs")
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
		seatsReleased.Add(ctx, r.Quantity, tenantAttr(p.GetTenantId()))
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
			seatsReleased.Add(ctx, r.Quantity, tenantAttr(r.TenantID))
			reservationsExpired.Add(ctx, 1, tenantAttr(r.TenantID))
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
