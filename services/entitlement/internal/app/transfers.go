package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// TransferLineItem moves a line item the caller may see, with no seats out, to
// another account the caller acts for; it is on hold until a producer decides (SPEC
// ENT-7). Producers move line items between any accounts.
func (a *App) TransferLineItem(ctx context.Context, activationID, toAccount string) (LineItem, error) {
	if toAccount == "" {
		return LineItem{}, errs.Invalid("to_account", "is required")
	}
	li, err := a.GetLineItem(ctx, activationID)
	if err != nil {
		return LineItem{}, err
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, toAccount) {
		return LineItem{}, errs.Invalid("to_account", "account %q is not one you act for", toAccount)
	}
	if toAccount == li.AccountID {
		return LineItem{}, errs.Invalid("to_account", "the line item already belongs to %s", toAccount)
	}
	exists, err := a.accounts.AccountExists(ctx, toAccount)
	if err != nil {
		return LineItem{}, err
	}
	if !exists {
		return LineItem{}, errs.Invalid("to_account", "account %q does not exist", toAccount)
	}
	return a.store.TransferLineItem(ctx, p.GetTenantId(), activationID, toAccount)
}

// DecideTransfer approves a transfer on hold (the line item is deployed for its new
// account) or rejects it (it goes back, deployed, to the account it came from).
func (a *App) DecideTransfer(ctx context.Context, activationID string, approve bool) (LineItem, error) {
	return a.store.DecideTransfer(ctx, authz.MustTenant(ctx), activationID, approve)
}
