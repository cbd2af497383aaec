package clients

import (
	"context"
	"strings"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
)

// EntitlementKeys looks up and assigns entitlement IDs in the entitlement service.
type EntitlementKeys struct {
	Ent entitlementpb.EntitlementServiceClient
}

func keyOf(k *entitlementpb.EntitlementKey) app.EntitlementKey {
	return app.EntitlementKey{
		EntitlementID: strings.TrimPrefix(k.GetEntitlement(), "entitlements/"), ActivationID: k.GetActivationId(),
		AccountID: strings.TrimPrefix(k.GetAccount(), "accounts/"),
	}
}

// Resolve implements app.EntitlementKeys.
func (e EntitlementKeys) Resolve(ctx context.Context, key string, orderID bool) (app.EntitlementKey, error) {
	req := &entitlementpb.ResolveEntitlementKeyRequest{Key: key}
	if orderID {
		req.Kinds = []entitlementpb.EntitlementKeyKind{entitlementpb.EntitlementKeyKind_ENTITLEMENT_KEY_KIND_ORDER_ID}
	}
	k, err := e.Ent.ResolveEntitlementKey(ctx, req)
	if err != nil {
		return app.EntitlementKey{}, err
	}
	return keyOf(k), nil
}

// Assign implements app.EntitlementKeys.
func (e EntitlementKeys) Assign(ctx context.Context, key, accountID string) (app.EntitlementKey, error) {
	k, err := e.Ent.AssignEntitlementKey(ctx, &entitlementpb.AssignEntitlementKeyRequest{Key: key, Account: "accounts/" + accountID})
	if err != nil {
		return app.EntitlementKey{}, err
	}
	return keyOf(k), nil
}

// Licensed implements app.EntitlementKeys.
func (e EntitlementKeys) Licensed(ctx context.Context, k app.EntitlementKey) (map[string]int64, error) {
	var items []*entitlementpb.LineItem
	if k.ActivationID != "" {
		li, err := e.Ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + k.ActivationID})
		if err != nil {
			return nil, err
		}
		items = append(items, li)
	} else {
		ent, err := e.Ent.GetEntitlement(ctx, &entitlementpb.GetEntitlementRequest{Name: "entitlements/" + k.EntitlementID})
		if err != nil {
			return nil, err
		}
		items = ent.GetLineItems()
	}
	out := map[string]int64{}
	for _, li := range items {
		if li.GetState() == entitlementpb.LineItemState_LINE_ITEM_STATE_DEPLOYED {
			out[strings.TrimPrefix(li.GetProduct(), "products/")] += li.GetQuantity()
		}
	}
	return out, nil
}

// Redeem implements app.EntitlementKeys.
func (e EntitlementKeys) Redeem(ctx context.Context, key, accountID string) (app.EntitlementKey, error) {
	ent, err := e.Ent.RedeemWebRegisterKey(ctx, &entitlementpb.RedeemWebRegisterKeyRequest{Key: key, Account: "accounts/" + accountID})
	if err != nil {
		return app.EntitlementKey{}, err
	}
	return app.EntitlementKey{EntitlementID: ent.GetEntitlementId(), AccountID: accountID}, nil
}
