package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Kinds of ID a person may type to name an entitlement.
const (
	KeyEntitlementID = "entitlement_id"
	KeyActivationID  = "activation_id"
	KeyOrderID       = "order_id"
)

// EntitlementKey is what such an ID names: the entitlement, the line item for an
// activation ID, and the owning account ("" while nobody owns it).
type EntitlementKey struct {
	Kind          string
	Key           string
	EntitlementID string
	ActivationID  string
	AccountID     string
}

// ResolveKey looks key up as each kind in turn (entitlement ID, then activation ID
// when kinds is empty).
func (a *App) ResolveKey(ctx context.Context, key string, kinds []string) (EntitlementKey, error) {
	if key == "" {
		return EntitlementKey{}, errs.Invalid("key", "is required")
	}
	if len(kinds) == 0 {
		kinds = []string{KeyEntitlementID, KeyActivationID}
	}
	tenant := authz.MustTenant(ctx)
	for _, kind := range kinds {
		k, err := a.store.ResolveKey(ctx, tenant, kind, key)
		if errs.IsKind(err, errs.KindNotFound) {
			continue
		}
		return k, err
	}
	return EntitlementKey{}, errs.NotFound("entitlement key", key)
}

// AssignKey gives what key names to the account if nobody owns it yet. Assigning it
// again to the same account is a no-op; an ID owned by another account is refused.
// Order IDs name no single thing to claim and are refused.
func (a *App) AssignKey(ctx context.Context, key, accountID string) (EntitlementKey, error) {
	var v errs.Violations
	v.Require("key", key)
	v.Require("account", accountID)
	if err := v.Err(); err != nil {
		return EntitlementKey{}, err
	}
	k, err := a.ResolveKey(ctx, key, nil)
	if err != nil {
		return k, err
	}
	if k.AccountID == accountID {
		return k, nil
	}
	if k.AccountID != "" {
		return k, errKeyOwned(key)
	}
	return a.store.AssignKey(ctx, authz.MustTenant(ctx), k, accountID)
}

func errKeyOwned(key string) error {
	return errs.FailedPrecondition("KEY_ALREADY_OWNED", "%s already belongs to another account", key)
}
