package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// MappingStore keeps the seats mapped to devices.
type MappingStore interface {
	// MappingByRequest returns the mapping a request ID produced and its device.
	MappingByRequest(ctx context.Context, tenant, requestID string) (deviceID string, m Mapping, found bool, err error)
	// AddMapping stores m, commits its seat claim and writes its event in one
	// transaction.
	AddMapping(ctx context.Context, tenant, deviceID string, m Mapping) error
}

// MapLineItem holds seats of a line item for a device (idempotent by request ID).
// The line item must belong to the device's account.
func (a *App) MapLineItem(ctx context.Context, deviceID, activationID string, count int64, requestID string) (Device, error) {
	var v errs.Violations
	v.Require("line_item", activationID)
	quantity.Check(&v, "quantity", count, 1)
	if len(requestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	d, err := a.GetDevice(ctx, deviceID)
	if err != nil {
		return Device{}, err
	}
	tenant := authz.MustTenant(ctx)
	// A replay is recognised before any seat is asked for: the device as mapped comes
	// back however full the line item is now (PLT-6).
	replayed := func() (bool, error) {
		on, prev, found, err := a.store.MappingByRequest(ctx, tenant, requestID)
		if err != nil || !found {
			return false, err
		}
		if on != deviceID || prev.ActivationID != activationID || prev.Quantity != count {
			return false, errs.Invalid("request_id", "was used before for another request")
		}
		return true, nil
	}
	if requestID == "" {
		requestID = ids.New("REQ", 4)
	} else if done, err := replayed(); err != nil || done {
		if err != nil {
			return Device{}, err
		}
		return a.store.GetDevice(ctx, tenant, deviceID)
	}
	m := Mapping{ActivationID: activationID, Quantity: count, RequestID: requestID, ClaimID: ids.FromKey(tenant, "device", requestID)}
	claim := seats.Claim{ID: m.ClaimID, TenantID: tenant, ActivationID: activationID, Quantity: count, AccountIDs: []string{d.AccountID}}
	owner, err := a.seats.Begin(ctx, claim)
	if err != nil {
		return Device{}, err
	}
	m.AccountID = owner
	if err := a.store.AddMapping(ctx, tenant, deviceID, m); err != nil {
		if done, derr := replayed(); derr == nil && done {
			return a.store.GetDevice(ctx, tenant, deviceID) // a concurrent retry won
		}
		a.seats.Abort(ctx, tenant, m.ClaimID)
		return Device{}, err
	}
	a.seats.Confirm(ctx, m.ClaimID)
	return a.store.GetDevice(ctx, tenant, deviceID)
}
