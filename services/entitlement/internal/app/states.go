package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/platform/authz"
)

// DeployLineItem puts a draft line item in service, so that it can be activated
// (SPEC ENT-4). A deployed line item stays as it is, so a retry is harmless; obsolete
// and on-hold line items are refused (an on-hold one waits for its transfer
// decision).
func (a *App) DeployLineItem(ctx context.Context, activationID string) (LineItem, error) {
	return a.store.SetLineItemState(ctx, authz.MustTenant(ctx), activationID, StateDeployed, []string{StateDraft})
}

// ObsoleteLineItem retires a draft or deployed line item for good (SPEC ENT-4): it
// is no longer activatable, mapped, transferred or split (all of which need a
// deployed line item), while seats already out stay and may be returned. An
// obsolete line item stays as it is; an on-hold one is refused.
func (a *App) ObsoleteLineItem(ctx context.Context, activationID string) (LineItem, error) {
	return a.store.SetLineItemState(ctx, authz.MustTenant(ctx), activationID, StateObsolete, []string{StateDraft, StateDeployed})
}
