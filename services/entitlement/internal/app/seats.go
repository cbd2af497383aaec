package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

func parseReservationID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, errs.Invalid("reservation_id", "must be a UUID")
	}
	return id, nil
}

// ReserveSeats holds seats of a line item for the calling service (SPEC ENT-5).
func (a *App) ReserveSeats(ctx context.Context, reservationID, activationID string, quantity int64, holder string, accountIDs []string) (Reservation, error) {
	var v errs.Violations
	id, err := uuid.Parse(reservationID)
	if err != nil {
		v.Add("reservation_id", "must be a UUID")
	}
	v.Require("activation_id", activationID)
	v.Require("holder", holder)
	if quantity <= 0 {
		v.Add("quantity", "must be positive")
	}
	if err := v.Err(); err != nil {
		return Reservation{}, err
	}
	tenant := authz.MustTenant(ctx)
	r, err := a.store.Reserve(ctx, tenant, Reservation{ID: id, ActivationID: activationID, Quantity: quantity, Holder: holder}, accountIDs)
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
