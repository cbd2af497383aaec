package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
)

// Split asks for part of a line item's unused quantity to go to another account.
type Split struct {
	ActivationID, ToAccount, ContactUserID, RequestID string
	Quantity                                          int64
	Pool                                              bool
	// Reservation, when set, holds seats in use that move with the quantity: the
	// target takes them under NewReservation (SPEC LIC-10).
	Reservation, NewReservation *uuid.UUID
}

// SplitLineItem moves quantity from a line item the caller may see to another
// account the caller acts for (SPEC ENT-8): pooled into a similar deployed line item
// of the target, or as a new entitlement with one line item like the source. The
// store does it under row locks, never below the seats out, once per request ID.
func (a *App) SplitLineItem(ctx context.Context, s Split) (LineItem, LineItem, error) {
	var v errs.Violations
	v.Require("to_account", s.ToAccount)
	v.Require("contact", s.ContactUserID)
	quantity.Check(&v, "quantity", s.Quantity, 1)
	if len(s.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return LineItem{}, LineItem{}, err
	}
	from, err := a.GetLineItem(ctx, s.ActivationID)
	if err != nil {
		return LineItem{}, LineItem{}, err
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, s.ToAccount) || s.ToAccount == from.AccountID {
		return LineItem{}, LineItem{}, errs.Invalid("to_account", "must be another account you act for")
	}
	exists, err := a.accounts.AccountExists(ctx, s.ToAccount)
	if err != nil {
		return LineItem{}, LineItem{}, err
	}
	if !exists {
		return LineItem{}, LineItem{}, errs.Invalid("to_account", "account %q does not exist", s.ToAccount)
	}
	tenant := p.GetTenantId()
	if s.RequestID == "" {
		s.RequestID = ids.New("SPLIT", 3)
	}
	return a.store.SplitLineItem(ctx, tenant, s, splitTarget(tenant, s, from))
}

// splitTarget is the new entitlement a split makes when it does not pool.
func splitTarget(tenant string, s Split, from LineItem) Entitlement {
	return Entitlement{
		ID: ids.New("ENT", 3), AccountID: s.ToAccount, OrderID: ids.ForRequest(tenant, "SPLIT", s.RequestID), Origin: OriginSplit,
		LineItems: []LineItem{{
			ActivationID: ids.New("ACT", 4), ProductID: from.ProductID, LicenseModelID: from.LicenseModelID, State: StateDeployed,
			OrderLine: "1", Quantity: s.Quantity, StartTime: from.StartTime, ExpireTime: from.ExpireTime,
		}},
	}
}

// MoveSeats moves seats in use, held by a confirmed reservation, with the quantity
// they stand for, to a line item of another account (SPEC LIC-10): a split that
// takes the reservation's seats along. Services only; idempotent by the new
// reservation ID.
func (a *App) MoveSeats(ctx context.Context, reservationID string, seats int64, toAccount string, pool bool, newReservationID string) (LineItem, error) {
	var v errs.Violations
	id, err := uuid.Parse(reservationID)
	if err != nil {
		v.Add("reservation_id", "must be a UUID")
	}
	next, err := uuid.Parse(newReservationID)
	if err != nil {
		v.Add("new_reservation_id", "must be a UUID")
	}
	v.Require("to_account", toAccount)
	quantity.Check(&v, "quantity", seats, 1)
	if err := v.Err(); err != nil {
		return LineItem{}, err
	}
	tenant := authz.MustTenant(ctx)
	r, err := a.store.Reservation(ctx, tenant, id)
	if err != nil {
		return LineItem{}, err
	}
	from, err := a.store.GetLineItem(ctx, tenant, r.ActivationID)
	if err != nil {
		return LineItem{}, err
	}
	if exists, err := a.accounts.AccountExists(ctx, toAccount); err != nil || !exists {
		if err == nil {
			err = errs.Invalid("to_account", "account %q does not exist", toAccount)
		}
		return LineItem{}, err
	}
	s := Split{
		ActivationID: from.ActivationID, ToAccount: toAccount, Quantity: seats, Pool: pool,
		RequestID: "move/" + next.String(), Reservation: &id, NewReservation: &next,
	}
	_, to, err := a.store.SplitLineItem(ctx, tenant, s, splitTarget(tenant, s, from))
	return to, err
}
