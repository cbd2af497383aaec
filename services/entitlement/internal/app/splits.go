package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// Split asks for part of a line item's unused quantity to go to another account.
type Split struct {
	ActivationID, ToAccount, ContactUserID, RequestID string
	Quantity                                          int64
	Pool                                              bool
}

// SplitLineItem moves quantity from a line item the caller may see to another
// account the caller acts for (SPEC ENT-8): pooled into a similar deployed line item
// of the target, or as a new entitlement with one line item like the source. The
// store does it under row locks, never below the seats out, once per request ID.
func (a *App) SplitLineItem(ctx context.Context, s Split) (LineItem, LineItem, error) {
	var v errs.Violations
	v.Require("to_account", s.ToAccount)
	v.Require("contact", s.ContactUserID)
	if s.Quantity <= 0 {
		v.Add("quantity", "must be positive")
	}
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
	fresh := Entitlement{
		ID: ids.New("ENT", 3), AccountID: s.ToAccount, OrderID: ids.ForRequest(tenant, "SPLIT", s.RequestID), Origin: OriginSplit,
		LineItems: []LineItem{{
			ActivationID: ids.New("ACT", 4), ProductID: from.ProductID, LicenseModelID: from.LicenseModelID, State: StateDeployed,
			OrderLine: "1", Quantity: s.Quantity, StartTime: from.StartTime, ExpireTime: from.ExpireTime,
		}},
	}
	return a.store.SplitLineItem(ctx, tenant, s, fresh)
}
